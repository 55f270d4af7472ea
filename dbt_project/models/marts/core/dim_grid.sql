select
    grid_id,
    county_code,
    town_code,
    village_code,
    grid_name,
    grid_level,
    household_count,
    workers_in_post,
    workers_listed,
    updated_at
from {{ ref('int_grids') }}
