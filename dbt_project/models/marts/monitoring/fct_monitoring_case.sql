-- Monitoring cases (not deleted, household live), with what the EXIT/CONS rules look at:
-- the household's measures, its latest income and the income of the year it was eliminated in.
with cases as (
    select * from {{ ref('int_monitoring_cases') }}
),

incomes as (
    select * from {{ ref('int_household_incomes') }}
)

select
    c.case_id,
    c.household_id,
    hm.county_code,
    hm.town_code,
    hm.village_code,
    c.monitor_category,
    c.identified_on,
    array_to_string(c.risk_types, ',')            as risk_types,
    cardinality(c.risk_types)                     as risk_type_count,
    ('因病' = any(c.risk_types))                  as has_illness_risk,
    ('其他' = any(c.risk_types))                  as has_other_risk,
    (c.risk_note is not null)                     as has_risk_note,
    c.discovery_channel,
    c.is_eliminated,
    c.eliminated_on,
    c.eliminate_method,
    c.eliminated_by_run_date,
    c.contact_worker_id,
    hm.no_labor_household,
    hm.measure_count                              as household_measure_count,
    hm.developmental_measure_count                as household_developmental_measure_count,
    hm.latest_income_year,
    hm.latest_per_capita_net_income,
    hm.latest_compliant_oop_expense,
    -- EXIT-03: the most recent income year not after the year of elimination
    ie.income_year                                as elimination_income_year,
    ie.per_capita_net_income                      as elimination_per_capita_net_income
from cases as c
join {{ ref('int_household_monitoring') }} as hm using (household_id)
left join lateral (
    select i.income_year, i.per_capita_net_income
    from incomes as i
    where i.household_id = c.household_id
      and c.eliminated_on is not null
      and i.income_year <= extract(year from c.eliminated_on)
    order by i.income_year desc
    limit 1
) as ie on true
