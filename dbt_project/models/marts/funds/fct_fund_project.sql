-- 衔接资金项目事实表：每个项目库编号一行（最新版本），含支付与受益农户汇总，金额单位元。
select
    p.project_id,
    p.project_name,
    p.county_code,
    p.year,
    p.project_category,
    p.is_industry,
    p.is_household_project,
    p.fund_level,
    p.approved_amount,
    p.approved_on,
    p.implementing_entity,
    p.linkage_mode,
    p.asset_type,
    p.planned_poverty_households,
    p.planned_monitored_households,
    coalesce(pay.payment_count, 0)                      as payment_count,
    coalesce(pay.paid_amount, 0)::numeric(18, 2)        as paid_amount,
    case when p.approved_amount > 0
         then round(coalesce(pay.paid_amount, 0) / p.approved_amount, 4) end as payment_progress,
    pay.first_paid_on,
    pay.last_paid_on,
    coalesce(pay.payments_before_approval, 0)           as payments_before_approval,
    coalesce(b.actual_households, 0)                    as actual_households,
    coalesce(b.actual_poverty_households, 0)            as actual_poverty_households,
    coalesce(b.actual_monitored_households, 0)          as actual_monitored_households,
    coalesce(b.ineligible_households, 0)                as ineligible_households,
    b.ineligible_household_ids
from {{ ref('int_fund__projects') }} as p
left join {{ ref('int_fund__project_payments') }} as pay on pay.project_id = p.project_id
left join {{ ref('int_fund__project_beneficiaries') }} as b on b.project_id = p.project_id
