-- Built only by the periodic reports (reports.marts, `--vars {build_reports: true}`), after the
-- day's rules: it reads dq.issue, which the daily build runs before, so in the daily DAG it
-- would show yesterday's findings and a rerun of the day would change it.
{{ config(enabled=var('build_reports', false)) }}

-- County x month for the monthly review (月研判): the six months up to the run date's month;
-- a month's figures are as of its last day (the run date for the running month). Findings
-- come from dq.issue as the rule runner left it (the monthly DAG rebuilds this mart after
-- the day's rules ran).
with cases as (
    select * from {{ ref('fct_monitoring_case') }}
),

measures as (
    select * from {{ ref('fct_assistance_measure') }}
),

issues as (
    select * from {{ dq_issues() }} as i
),

counties as (
    select region_code as county_code, region_name as county_name
    from {{ ref('dim_region') }} where region_level = 'county'
),

months as (
    select m::date as review_month,
           least((m + interval '1 month' - interval '1 day')::date, {{ run_date() }}) as month_end
    from generate_series(date_trunc('month', {{ run_date() }}) - interval '5 months',
                         date_trunc('month', {{ run_date() }}), interval '1 month') as m
),

grid as (
    select m.review_month, m.month_end, c.county_code, c.county_name
    from months as m cross join counties as c
),

-- a case is monitoring a household on day d when identified by d and not eliminated by d
case_days as (
    select g.review_month, g.county_code, c.household_id, c.has_illness_risk,
           c.identified_on >= g.review_month and c.identified_on <= g.month_end      as entered,
           c.is_eliminated and c.eliminated_on >= g.review_month
               and c.eliminated_on <= g.month_end                                    as left_monitoring,
           c.identified_on <= g.month_end
               and not (c.is_eliminated and (c.eliminated_on is null or c.eliminated_on <= g.month_end))
                                                                                     as monitored_at_end,
           g.month_end
    from grid as g join cases as c on c.county_code = g.county_code
),

monitored as (
    select distinct review_month, county_code, household_id, month_end
    from case_days where monitored_at_end
),

covered as (
    select m.review_month, m.county_code,
           count(distinct m.household_id) filter (where a.measure_id is not null)       as with_measure,
           count(distinct m.household_id) filter (where a.is_developmental)             as with_developmental
    from monitored as m
    left join measures as a
      on a.household_id = m.household_id and a.start_date <= m.month_end
     and (a.end_date is null or a.end_date >= m.month_end)
    group by m.review_month, m.county_code
),

by_case as (
    select review_month, county_code,
           count(distinct household_id) filter (where monitored_at_end)                 as monitored_households,
           count(distinct household_id) filter (where entered)                          as households_entered,
           count(distinct household_id) filter (where left_monitoring)                  as households_left,
           count(distinct household_id) filter (where entered and has_illness_risk)     as entered_with_illness_risk
    from case_days group by review_month, county_code
),

by_issue as (
    select g.review_month, g.county_code,
           count(*) filter (where i.first_detected_on >= g.review_month
                              and i.first_detected_on <= g.month_end)                   as new_findings,
           count(*) filter (where i.resolved_on >= g.review_month
                              and i.resolved_on <= g.month_end)                         as resolved_findings,
           {%- for family in ['PAPER', 'GRID', 'MISS', 'EXIT', 'CONS', 'ID', 'FUND', 'SALE'] %}
           count(*) filter (where i.rule_id like '{{ family }}-%' and i.first_detected_on <= g.month_end
                              and (i.resolved_on is null or i.resolved_on > g.month_end)) as open_{{ family | lower }},
           {%- endfor %}
           count(*) filter (where i.first_detected_on <= g.month_end
                              and (i.resolved_on is null or i.resolved_on > g.month_end)) as open_findings
    from grid as g join issues as i on i.county_code = g.county_code
    group by g.review_month, g.county_code
)

select
    g.review_month,
    g.month_end,
    g.county_code,
    g.county_name,
    coalesce(c.monitored_households, 0)            as monitored_households,
    coalesce(c.households_entered, 0)              as households_entered,
    coalesce(c.households_left, 0)                 as households_left,
    coalesce(c.entered_with_illness_risk, 0)       as entered_with_illness_risk,
    coalesce(v.with_measure, 0)                    as monitored_with_measure,
    round(coalesce(v.with_measure, 0)::numeric / nullif(c.monitored_households, 0), 4) as measure_coverage,
    coalesce(v.with_developmental, 0)              as monitored_with_developmental_measure,
    coalesce(i.open_findings, 0)                   as open_findings,
    {%- for family in ['PAPER', 'GRID', 'MISS', 'EXIT', 'CONS', 'ID', 'FUND', 'SALE'] %}
    coalesce(i.open_{{ family | lower }}, 0)       as open_{{ family | lower }},
    {%- endfor %}
    coalesce(i.new_findings, 0)                    as new_findings,
    coalesce(i.resolved_findings, 0)               as resolved_findings
from grid as g
left join by_case as c using (review_month, county_code)
left join covered as v using (review_month, county_code)
left join by_issue as i using (review_month, county_code)
