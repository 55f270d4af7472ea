-- Grid workers not deleted, with their latest activity (visit or login) and home county
-- (the county of the lowest-coded grid they serve) so alerts can be routed.
with workers as (
    select * from {{ ref('stg_platform__grid_workers') }} where not is_deleted
),

last_visit as (
    select worker_id, max(started_at) as last_visit_at, count(*) as visit_count
    from {{ ref('int_visits') }}
    group by worker_id
),

worker_region as (
    select w.worker_id, min(g.village_code) as village_code
    from workers as w
    cross join lateral unnest(w.grid_ids) as gid(grid_id)
    join {{ ref('stg_platform__grids') }} as g on g.grid_id = gid.grid_id and not g.is_deleted
    group by w.worker_id
)

select
    w.*,
    lv.last_visit_at,
    coalesce(lv.visit_count, 0)                     as visit_count,
    wr.village_code,
    left(wr.village_code, 9)                        as town_code,
    left(wr.village_code, 6)                        as county_code
from workers as w
left join last_visit as lv using (worker_id)
left join worker_region as wr using (worker_id)
