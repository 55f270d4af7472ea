select
    worker_id,
    worker_name,
    {{ mask_phone('phone') }}                            as phone_masked,
    worker_role,
    worker_status,
    array_to_string(grid_ids, ',')                       as grid_ids,
    cardinality(grid_ids)                                as grid_count,
    county_code,
    town_code,
    village_code,
    appointed_on,
    trained_on,
    acknowledged_on,
    last_login_at,
    last_visit_at,
    visit_count,
    updated_at
from {{ ref('int_grid_workers') }}
