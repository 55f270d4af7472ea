-- Built only by the periodic reports (reports.marts, `--vars {build_reports: true}`), after the
-- day's rules: it reads dq.issue, which the daily build runs before, so in the daily DAG it
-- would show yesterday's findings and a rerun of the day would change it.
{{ config(enabled=var('build_reports', false)) }}

-- Grid worker x month scorecard (网格员履职月报), the six months up to the run date's month:
-- visits, how many in person, median duration, how far the GPS fix lay from the home, photos,
-- and the PAPER findings raised on the month's visits (and how many have been cleared).
with visits as (
    select * from {{ ref('fct_visit') }}
    where visit_date >= date_trunc('month', {{ run_date() }}) - interval '5 months'
      and visit_date <= {{ run_date() }}
),

workers as (
    select * from {{ ref('dim_grid_worker') }}
),

paper as (
    select entity_id as visit_id, status
    from {{ dq_issues() }} as i
    where rule_id like 'PAPER-%' and entity_type = 'visit'
),

-- one visit may carry several PAPER findings: count findings, not visits
visit_findings as (
    select visit_id, count(*) as findings, count(*) filter (where status = 'resolved') as cleared
    from paper group by visit_id
)

select
    date_trunc('month', v.visit_date)::date                                  as review_month,
    v.worker_id,
    w.worker_name,
    w.county_code,
    w.town_code,
    w.village_code,
    count(*)                                                                 as visits,
    count(*) filter (where v.visit_mode = '入户')                            as in_person_visits,
    round(count(*) filter (where v.visit_mode = '入户')::numeric / count(*), 4) as in_person_share,
    percentile_cont(0.5) within group (order by v.duration_minutes)          as median_duration_minutes,
    round(avg(v.has_gps::int) filter (where v.visit_mode = '入户'), 4)       as in_person_gps_share,
    percentile_cont(0.5) within group (order by v.distance_from_home_km)
        filter (where v.visit_mode = '入户')                                  as median_distance_from_home_km,
    coalesce(sum(v.photo_count), 0)                                          as photos,
    count(*) filter (where v.photo_count > 0)                                as visits_with_photo,
    coalesce(sum(f.findings), 0)                                             as paper_findings,
    coalesce(sum(f.cleared), 0)                                              as paper_findings_cleared
from visits as v
left join workers as w using (worker_id)
left join visit_findings as f using (visit_id)
where v.worker_id is not null
group by 1, 2, 3, 4, 5, 6
