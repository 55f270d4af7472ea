-- Built only by the periodic reports (reports.marts, `--vars {build_reports: true}`), after the
-- day's rules: it reads dq.issue, which the daily build runs before, so in the daily DAG it
-- would show yesterday's findings and a rerun of the day would change it.
{{ config(enabled=var('build_reports', false)) }}

-- code lists (DOMAIN.md): risk types and assistance-measure categories, each with the column
-- suffix it is counted under
{%- set risk_types = [('因病', 'illness'), ('因残', 'disability'), ('因学', 'education'),
    ('因自然灾害', 'disaster'), ('因意外事故', 'accident'), ('因产业项目失败', 'industry_failure'),
    ('因务工就业不稳', 'unstable_employment'), ('缺劳动力', 'lacking_labour'),
    ('因安全住房', 'housing'), ('因安全饮水', 'drinking_water'), ('其他', 'other')] %}
{%- set measure_categories = [('产业帮扶', 'industry'), ('就业帮扶', 'employment'),
    ('金融帮扶', 'finance'), ('公益岗位帮扶', 'public_welfare_job'), ('健康帮扶', 'health'),
    ('义务教育保障', 'compulsory_education'), ('其他教育帮扶', 'other_education'),
    ('综合保障', 'social_security'), ('住房安全保障', 'housing_security'),
    ('饮水安全保障', 'drinking_water_security'), ('社会帮扶', 'social_assistance'),
    ('搬迁', 'relocation'), ('生产生活条件改善', 'living_conditions'),
    ('基础设施建设', 'infrastructure')] %}
{%- set thresholds = var('income_thresholds', {}) %}
{#- sqlfluff's dbt builtins give a placeholder, not the dict -#}
{%- set thresholds = thresholds if thresholds is mapping else {} %}

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

incomes as (
    select * from {{ ref('int_household_incomes') }}
),

households as (
    select household_id, county_code from {{ ref('dim_household') }}
),

-- the income monitoring threshold per year (config/policy.yml, passed in by reports.marts)
thresholds as (
    {%- for year, amount in thresholds.items() %}
    select {{ year | int }} as income_year, {{ amount | float }}::numeric as threshold
    {% if not loop.last %}union all{% endif %}
    {%- else %}
    select null::int as income_year, null::numeric as threshold where false
    {%- endfor %}
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
           string_to_array(c.risk_types, ',') as risk_list,
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
           count(distinct m.household_id) filter (where a.is_developmental)             as with_developmental,
           {%- for cat, slug in measure_categories %}
           count(distinct m.household_id) filter (where a.category = '{{ cat }}')        as with_{{ slug }}{{ ',' if not loop.last }}
           {%- endfor %}
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
           count(distinct household_id) filter (where entered and has_illness_risk)     as entered_with_illness_risk,
           {%- for rt, slug in risk_types %}
           count(distinct household_id) filter (where monitored_at_end
                                                  and '{{ rt }}' = any(risk_list))      as monitored_risk_{{ slug }},
           count(distinct household_id) filter (where entered
                                                  and '{{ rt }}' = any(risk_list))      as entered_risk_{{ slug }}{{ ',' if not loop.last }}
           {%- endfor %}
    from case_days group by review_month, county_code
),

-- what MISS-01 looks at, monitored or not: a household's latest income year known by the
-- month's end (years up to the month's year), below that year's threshold
latest_income as (
    select distinct on (g.review_month, h.county_code, h.household_id)
           g.review_month, h.county_code, h.household_id, i.income_year, i.per_capita_net_income
    from grid as g
    join households as h on h.county_code = g.county_code
    join incomes as i on i.household_id = h.household_id
     and i.income_year <= extract(year from g.month_end)
    order by g.review_month, h.county_code, h.household_id, i.income_year desc
),

below_threshold as (
    select li.review_month, li.county_code,
           count(*)                                                                      as income_below,
           count(*) filter (where m.household_id is null)                                as income_below_unmonitored
    from latest_income as li
    join thresholds as t on t.income_year = li.income_year
    left join monitored as m using (review_month, county_code, household_id)
    where li.per_capita_net_income < t.threshold
    group by li.review_month, li.county_code
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
    {%- for cat, slug in measure_categories %}
    coalesce(v.with_{{ slug }}, 0)                 as monitored_with_{{ slug }},
    {%- endfor %}
    {%- for rt, slug in risk_types %}
    coalesce(c.monitored_risk_{{ slug }}, 0)       as monitored_risk_{{ slug }},
    coalesce(c.entered_risk_{{ slug }}, 0)         as entered_risk_{{ slug }},
    {%- endfor %}
    coalesce(b.income_below, 0)                    as income_below_threshold,
    coalesce(b.income_below_unmonitored, 0)        as income_below_threshold_unmonitored,
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
left join below_threshold as b using (review_month, county_code)
