-- Department feed x quarter for the quarterly joint meeting (季联动): the run date's quarter and
-- the three before it; the running quarter ends on the run date. "Verified" means the first
-- 预警核查 visit to the signal's household on or after the day the signal was received.
with signals as (
    select * from {{ ref('fct_dept_signal') }} where source <> 'platform'
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
    select household_id, visit_date from {{ ref('fct_visit') }} where visit_type = '预警核查'
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
           s.received_on, s.matched_person_count
    from grid as g
    join signals as s on s.source = g.folder
     and s.received_on >= g.quarter_start and s.received_on <= g.quarter_end
),

verified as (
    select qs.signal_id, qs.quarter_start,
           min(c.visit_date) - qs.received_on as days_to_verify
    from quarter_signals as qs
    join checks as c on c.household_id = qs.household_id and c.visit_date >= qs.received_on
     and c.visit_date <= qs.quarter_end
    group by qs.signal_id, qs.quarter_start, qs.received_on
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

by_signal as (
    select qs.quarter_start, qs.folder,
           count(*)                                                   as signals,
           count(*) filter (where qs.matched_person_count > 0)        as matched_signals,
           count(v.signal_id)                                         as verified_signals,
           percentile_cont(0.5) within group (order by v.days_to_verify) as median_days_to_verify
    from quarter_signals as qs
    left join verified as v using (signal_id, quarter_start)
    group by qs.quarter_start, qs.folder
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
    s.median_days_to_verify
from grid as g
join received as r using (quarter_start, folder)
left join by_signal as s using (quarter_start, folder)
left join brought_in as b using (quarter_start, folder)
