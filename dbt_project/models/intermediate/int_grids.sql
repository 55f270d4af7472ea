-- Grids not deleted, with how many live households and in-post workers each has.
with grids as (
    select * from {{ ref('stg_platform__grids') }} where not is_deleted
),

households as (
    select grid_id, count(*) as household_count
    from {{ ref('int_live_households') }}
    where grid_id is not null
    group by grid_id
),

workers as (
    select gid.grid_id,
           count(*) filter (where w.worker_status = '在岗') as workers_in_post,
           count(*)                                        as workers_listed
    from {{ ref('int_grid_workers') }} as w
    cross join lateral unnest(w.grid_ids) as gid(grid_id)
    group by gid.grid_id
)

select
    g.*,
    coalesce(h.household_count, 0)  as household_count,
    coalesce(w.workers_in_post, 0)  as workers_in_post,
    coalesce(w.workers_listed, 0)   as workers_listed
from grids as g
left join households as h using (grid_id)
left join workers as w using (grid_id)
