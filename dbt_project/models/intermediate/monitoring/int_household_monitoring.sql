-- Monitoring status of every live household on the run date. "Monitored" = at least one case
-- not eliminated on the run date; "ever monitored" = at least one case (RULES.md).
with cases as (
    select * from {{ ref('int_monitoring_cases') }}
),

per_household as (
    select
        household_id,
        count(*)                                                   as case_count,
        count(*) filter (where not eliminated_by_run_date)         as open_case_count,
        max(eliminated_on) filter (where eliminated_by_run_date)   as last_eliminated_on
    from cases
    group by household_id
),

-- the most recently identified open case describes the household's current monitoring
current_case as (
    select distinct on (household_id)
        household_id, case_id, monitor_category, identified_on
    from cases
    where not eliminated_by_run_date
    order by household_id, identified_on desc, case_id desc
),

measures as (
    select household_id,
           count(*)                                  as measure_count,
           count(*) filter (where is_developmental)  as developmental_measure_count
    from {{ ref('int_assistance_measures') }}
    group by household_id
),

latest_income as (
    select household_id, income_year, per_capita_net_income, compliant_oop_expense
    from {{ ref('int_household_incomes') }}
    where is_latest_year
)

select
    h.household_id,
    h.county_code,
    h.town_code,
    h.village_code,
    h.household_type,
    h.no_labor_household,
    coalesce(p.open_case_count, 0) > 0             as is_monitored,
    (p.household_id is not null)                   as is_ever_monitored,
    coalesce(p.case_count, 0)                      as case_count,
    coalesce(p.open_case_count, 0)                 as open_case_count,
    cc.case_id                                     as current_case_id,
    cc.monitor_category                            as current_monitor_category,
    cc.identified_on                               as current_identified_on,
    p.last_eliminated_on,
    coalesce(m.measure_count, 0)                   as measure_count,
    coalesce(m.developmental_measure_count, 0)     as developmental_measure_count,
    li.income_year                                 as latest_income_year,
    li.per_capita_net_income                       as latest_per_capita_net_income,
    li.compliant_oop_expense                       as latest_compliant_oop_expense
from {{ ref('int_live_households') }} as h
left join per_household as p using (household_id)
left join current_case as cc using (household_id)
left join measures as m using (household_id)
left join latest_income as li using (household_id)
