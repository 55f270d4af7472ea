-- Department feed x quarter for the quarterly joint meeting (季联动): the run date's quarter and
-- the three before it; the running quarter ends on the run date. "Verified" (docs/reports.md):
-- when the platform pushed an alert for the same person from the same department (on or after
-- the signal's event date, within the quarter), the alert's verify_result says whether it is
-- verified (已纳入监测 / 经核实无风险) and the day is the first 预警核查 visit to the household
-- by its verified_by_worker_id on or after the signal; else the first 预警核查 visit to the
-- signal's household on or after the day the signal was received.
with signals as (
    select * from {{ ref('fct_dept_signal') }} where source <> 'platform'
),

platform_alerts as (
    select * from {{ ref('fct_dept_signal') }} where source = 'platform'
),

cadence as (
    select * from {{ ref('feed_cadence') }} where cadence = 'daily'
),

batches as (
    select * from {{ source('raw', 'load_batch') }} where status = 'succeeded'
),

cases as (
    select * from {{ ref('fct_monitoring_case') }}
),

checks as (
    select household_id, worker_id, visit_date from {{ ref('fct_visit') }} where visit_type = '预警核查'
),

quarters as (
    select q::date as quarter_start,
           least((q + interval '3 months' - interval '1 day')::date, {{ run_date() }}) as quarter_end
    from generate_series(date_trunc('quarter', {{ run_date() }}) - interval '9 months',
                         date_trunc('quarter', {{ run_date() }}), interval '3 months') as q
),

grid as (
    select q.quarter_start, q.quarter_end, c.folder, c.department
    from quarters as q cross join cadence as c
),

received as (
    select g.quarter_start, g.folder, coalesce(sum(b.rows_loaded), 0) as rows_received
    from grid as g
    left join batches as b on b.source = g.folder
     and b.file_date >= g.quarter_start and b.file_date <= g.quarter_end
    group by g.quarter_start, g.folder
),

quarter_signals as (
    select g.quarter_start, g.quarter_end, g.folder, s.signal_id, s.household_id,
           s.received_on, s.matched_person_count, s.id_hash, s.source_dept, s.event_date
    from grid as g
    join signals as s on s.source = g.folder
     and s.received_on >= g.quarter_start and s.received_on <= g.quarter_end
),

-- the earliest platform alert for the signal's person and department
matched_alert as (
    select distinct on (qs.signal_id, qs.quarter_start)
           qs.signal_id, qs.quarter_start, a.verify_result, a.verified_by_worker_id
    from quarter_signals as qs
    join platform_alerts as a on a.id_hash = qs.id_hash and a.source_dept = qs.source_dept
     and a.received_on >= qs.event_date and a.received_on <= qs.quarter_end
    where qs.id_hash is not null
    order by qs.signal_id, qs.quarter_start, a.received_on, a.signal_id
),

-- only the signals with an alert or a check visit: for every other signal the answer is "not
-- verified, no alert, no days" (the counts below start from all signals, the median skips NULLs)
verified as (
    select qs.signal_id, qs.quarter_start, qs.folder,
           ma.signal_id is not null as has_alert,
           case when ma.signal_id is null then min(c.visit_date) is not null
                else coalesce(ma.verify_result in ('已纳入监测', '经核实无风险'), false) end as is_verified,
           case when ma.signal_id is null then min(c.visit_date)
                when ma.verify_result in ('已纳入监测', '经核实无风险')
                    then coalesce(min(c.visit_date) filter (where c.worker_id = ma.verified_by_worker_id),
                                  min(c.visit_date)) end - qs.received_on as days_to_verify
    from quarter_signals as qs
    left join matched_alert as ma using (signal_id, quarter_start)
    left join checks as c on c.household_id = qs.household_id and c.visit_date >= qs.received_on
     and c.visit_date <= qs.quarter_end
    where ma.signal_id is not null or c.household_id is not null
    group by qs.signal_id, qs.quarter_start, qs.folder, qs.received_on, ma.signal_id, ma.verify_result,
             ma.verified_by_worker_id
),

-- a household a signal brought into monitoring: a case identified on or after the signal,
-- within the same quarter
brought_in as (
    select qs.quarter_start, qs.folder, count(distinct qs.household_id) as households
    from quarter_signals as qs
    join cases as c on c.household_id = qs.household_id
     and c.identified_on >= qs.received_on and c.identified_on <= qs.quarter_end
    group by qs.quarter_start, qs.folder
),

-- counted apart and joined per quarter and feed: joining half a million signals to the few
-- verified ones and sorting them cost seconds for 32 rows
signal_counts as (
    select qs.quarter_start, qs.folder,
           count(*)                                                   as signals,
           count(*) filter (where qs.matched_person_count > 0)        as matched_signals
    from quarter_signals as qs
    group by qs.quarter_start, qs.folder
),

verified_counts as (
    select v.quarter_start, v.folder,
           count(*) filter (where v.is_verified)                      as verified_signals,
           count(*) filter (where v.has_alert)                        as signals_with_alert,
           count(*) filter (where v.has_alert and v.is_verified)      as verified_by_alert,
           percentile_cont(0.5) within group (order by v.days_to_verify) as median_days_to_verify
    from verified as v
    group by v.quarter_start, v.folder
),

by_signal as (
    select s.quarter_start, s.folder, s.signals, s.matched_signals,
           coalesce(v.verified_signals, 0)   as verified_signals,
           coalesce(v.signals_with_alert, 0) as signals_with_alert,
           coalesce(v.verified_by_alert, 0)  as verified_by_alert,
           v.median_days_to_verify
    from signal_counts as s
    left join verified_counts as v using (quarter_start, folder)
)

select
    g.quarter_start,
    g.quarter_end,
    extract(year from g.quarter_start)::int || '年第' || extract(quarter from g.quarter_start)::int || '季度'
                                                        as quarter_label,
    g.folder,
    g.department,
    r.rows_received,
    coalesce(s.signals, 0)                              as signals,
    coalesce(s.matched_signals, 0)                      as matched_signals,
    round(s.matched_signals::numeric / nullif(s.signals, 0), 4) as matched_share,
    coalesce(b.households, 0)                           as households_brought_in,
    coalesce(s.verified_signals, 0)                     as verified_signals,
    coalesce(s.signals, 0) - coalesce(s.verified_signals, 0) as unverified_signals,
    coalesce(s.signals_with_alert, 0)                   as signals_with_platform_alert,
    coalesce(s.verified_by_alert, 0)                    as verified_by_platform_alert,
    s.median_days_to_verify
from grid as g
join received as r using (quarter_start, folder)
left join by_signal as s using (quarter_start, folder)
left join brought_in as b using (quarter_start, folder)
