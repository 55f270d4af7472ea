-- 项目库（每个项目库编号的最新版本），批复金额由万元换算为元（numeric，不用浮点）。
select
    btrim(p.project_id)                                   as project_id,
    p.project_name,
    p.county_code,
    p.year,
    p.project_category,
    p.project_category = '产业发展'                        as is_industry,
    p.is_household_project,
    p.fund_level,
    (p.approved_amount_wan * 10000)::numeric(18, 2)      as approved_amount,
    p.approved_on,
    p.implementing_entity,
    p.linkage_mode,
    p.planned_poverty_households,
    p.planned_monitored_households,
    p.asset_type,
    p.file_date
from {{ ref('stg_feeds__fund_project') }} as p
