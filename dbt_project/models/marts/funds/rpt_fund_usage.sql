-- 衔接资金使用情况：县 × 年度 × 资金级次。下达金额来自资金下达文件，批复、支付来自项目库与支付记录。
-- 项目的资金级次未填时记为「未填」。各级次相加即该县该年度的合计（每个项目只计入一个级次）。
with allocated as (
    select county_code, year, fund_level,
           sum(amount_wan * 10000)::numeric(18, 2) as allocated_amount
    from {{ ref('stg_feeds__fund_allocation') }}
    group by 1, 2, 3
),

projects as (
    select county_code, year, coalesce(nullif(btrim(fund_level), ''), '未填') as fund_level,
           count(*)                                               as project_count,
           sum(approved_amount)                                   as approved_amount,
           sum(approved_amount) filter (where is_industry)        as industry_approved_amount,
           sum(paid_amount)                                       as paid_amount
    from {{ ref('fct_fund_project') }}
    group by 1, 2, 3
)

select
    coalesce(a.county_code, p.county_code)                    as county_code,
    coalesce(a.year, p.year)                                  as year,
    coalesce(a.fund_level, p.fund_level)                      as fund_level,
    coalesce(a.allocated_amount, 0)::numeric(18, 2)           as allocated_amount,
    coalesce(p.project_count, 0)                              as project_count,
    coalesce(p.approved_amount, 0)::numeric(18, 2)            as approved_amount,
    coalesce(p.industry_approved_amount, 0)::numeric(18, 2)   as industry_approved_amount,
    case when p.approved_amount > 0
         then round(coalesce(p.industry_approved_amount, 0) / p.approved_amount, 4) end as industry_share,
    coalesce(p.paid_amount, 0)::numeric(18, 2)                as paid_amount,
    case when p.approved_amount > 0
         then round(p.paid_amount / p.approved_amount, 4) end as payment_progress
from allocated as a
full outer join projects as p
  on p.county_code = a.county_code and p.year = a.year and p.fund_level = a.fund_level
