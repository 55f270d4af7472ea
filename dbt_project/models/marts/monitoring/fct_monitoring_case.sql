-- Monitoring cases (not deleted, household live), with what the EXIT/CONS rules look at:
-- the household's measures, its latest income and the income of the year it was eliminated in.
with cases as (
    select * from {{ ref('int_monitoring_cases') }}
),

incomes as (
    select * from {{ ref('int_household_incomes') }}
),

-- EXIT-03: per eliminated case, the most recent income year not after the year of elimination
-- (one hash join and one sort; a lateral probe per case was quadratic without an index)
elimination_incomes as (
    select distinct on (c.case_id)
        c.case_id,
        i.income_year,
        i.per_capita_net_income
    from cases as c
    join incomes as i
      on i.household_id = c.household_id
     and i.income_year <= extract(year from c.eliminated_on)
    where c.eliminated_on is not null
    order by c.case_id, i.income_year desc
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
    ie.income_year                                as elimination_income_year,
    ie.per_capita_net_income                      as elimination_per_capita_net_income
from cases as c
join {{ ref('int_household_monitoring') }} as hm using (household_id)
left join elimination_incomes as ie using (case_id)
