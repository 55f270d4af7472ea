-- 产业发展项目：计划带动户数与实际受益农户（脱贫户 / 曾纳入监测户），联农带农方式，资产类型。
select
    p.project_id,
    p.project_name,
    p.county_code,
    p.year,
    p.is_household_project,
    p.fund_level,
    p.approved_amount,
    p.approved_on,
    p.implementing_entity,
    p.linkage_mode,
    p.asset_type,
    p.paid_amount,
    p.payment_progress,
    p.planned_poverty_households,
    p.planned_monitored_households,
    p.actual_households,
    p.actual_poverty_households,
    p.actual_monitored_households,
    p.ineligible_households,
    coalesce(b.unmatched_beneficiary_rows, 0)   as unmatched_beneficiary_rows,
    coalesce(b.benefit_amount, 0)::numeric(18, 2) as benefit_amount
from {{ ref('fct_fund_project') }} as p
left join {{ ref('int_fund__project_beneficiaries') }} as b on b.project_id = p.project_id
where p.is_industry
