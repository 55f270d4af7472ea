-- Landing folder x day: was the file expected (its mapping's cadence), did it arrive, was it
-- loaded late, how many rows. Days run from the folder's first delivery (at most 180 days
-- back) to the run date; a daily folder expects a file every day, a weekly one on Mondays.
with batches as (
    select * from {{ source('raw', 'load_batch') }}
    where file_date is not null and file_date <= {{ run_date() }}
),

cadence as (
    select * from {{ ref('feed_cadence') }}
),

first_delivery as (
    select source as folder, greatest(min(file_date), {{ run_date() }} - 180) as first_day
    from batches group by source
),

days as (
    select c.folder, c.department, c.cadence, d::date as report_day
    from cadence as c
    join first_delivery as f using (folder)
    cross join lateral generate_series(f.first_day, {{ run_date() }}, interval '1 day') as d
),

-- the current load of each file date: the latest non-failed, non-superseded batch
current_load as (
    select distinct on (source, file_date)
           source as folder, file_date, origin, status, rows_in, rows_loaded, rows_rejected
    from batches
    where status in ('succeeded', 'duplicate')
    order by source, file_date, (status = 'succeeded') desc, batch_id desc
),

first_load as (
    select source as folder, file_date,
           min(run_date) filter (where status in ('succeeded', 'duplicate', 'superseded')) as first_loaded_for,
           bool_or(status = 'failed') as had_failure
    from batches group by source, file_date
)

select
    d.report_day,
    d.folder,
    d.department,
    d.cadence,
    case when d.cadence = 'daily' then 1
         when d.cadence = 'weekly' and extract(isodow from d.report_day) = 1 then 1
         else 0 end                                                   as expected_files,
    case when c.folder is not null then 1 else 0 end                  as received_files,
    c.origin                                                          as file_name,
    coalesce(fl.first_loaded_for > d.report_day, false)               as is_late,
    coalesce(fl.had_failure, false) and c.folder is null              as load_failed,
    coalesce(c.rows_in, 0)                                            as rows_in,
    coalesce(c.rows_loaded, 0)                                        as rows_loaded,
    coalesce(c.rows_rejected, 0)                                      as rows_rejected
from days as d
left join current_load as c on c.folder = d.folder and c.file_date = d.report_day
left join first_load as fl on fl.folder = d.folder and fl.file_date = d.report_day
