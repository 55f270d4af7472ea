-- County x run date monitoring summary. Incremental: each run replaces its own day's rows
-- (delete+insert on report_date, so a NULL county cannot slip past the delete), earlier days
-- stay, so a rerun of a date changes nothing.
{{ config(materialized='incremental', unique_key='report_date',
          incremental_strategy='delete+insert') }}

with households as (
    select * from {{ ref('int_household_monitoring') }}
),

cases as (
    select * from {{ ref('int_monitoring_cases') }}
),

signals as (
    select * from {{ ref('fct_dept_signal') }}
),

by_household as (
    select county_code,
           count(*)                                          as households,
           count(*) filter (where is_monitored)              as monitored_households,
           count(*) filter (where is_ever_monitored)         as ever_monitored_households
    from households
    group by county_code
),

by_case as (
    select h.county_code,
           count(*) filter (where c.identified_on = {{ run_date() }})                  as new_cases,
           count(*) filter (where c.identified_on > {{ run_date() }} - 30
                              and c.identified_on <= {{ run_date() }})                 as new_cases_30d,
           count(*) filter (where c.eliminated_by_run_date and c.eliminated_on = {{ run_date() }}) as eliminated_cases,
           count(*) filter (where c.eliminated_by_run_date and c.eliminated_on > {{ run_date() }} - 30)
                                                                                       as eliminated_cases_30d
    from cases as c
    join households as h using (household_id)
    group by h.county_code
),

by_signal as (
    select county_code,
           count(*) filter (where received_on = {{ run_date() }})                      as dept_signals,
           count(*) filter (where source = 'platform' and verify_due_on < {{ run_date() }}
                              and (verify_result is null or verify_result = '核实中'))  as overdue_alerts
    from signals
    where county_code is not null
    group by county_code
)

select
    {{ run_date() }}                                  as report_date,
    h.county_code,
    h.households,
    h.monitored_households,
    h.ever_monitored_households,
    round(h.monitored_households::numeric / nullif(h.households, 0), 4) as monitored_share,
    coalesce(c.new_cases, 0)                          as new_cases,
    coalesce(c.new_cases_30d, 0)                      as new_cases_30d,
    coalesce(c.eliminated_cases, 0)                   as eliminated_cases,
    coalesce(c.eliminated_cases_30d, 0)               as eliminated_cases_30d,
    coalesce(s.dept_signals, 0)                       as dept_signals,
    coalesce(s.overdue_alerts, 0)                     as overdue_alerts
from by_household as h
left join by_case as c using (county_code)
left join by_signal as s using (county_code)
