-- Assistance measures (not deleted, household live).
select
    m.measure_id,
    m.household_id,
    m.person_id,
    h.county_code,
    h.town_code,
    h.village_code,
    m.category,
    m.is_developmental,
    m.item,
    m.start_date,
    m.end_date,
    (m.start_date <= {{ run_date() }} and (m.end_date is null or m.end_date >= {{ run_date() }}))
                                                  as is_active_on_run_date,
    m.amount,
    m.fund_project_id,
    m.updated_at
from {{ ref('int_assistance_measures') }} as m
join {{ ref('int_live_households') }} as h using (household_id)
