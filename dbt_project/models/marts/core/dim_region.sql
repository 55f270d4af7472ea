select
    region_code,
    region_name,
    region_level,
    parent_code,
    left(region_code, 6)                                        as county_code,
    case when region_level in ('town', 'village') then left(region_code, 9) end as town_code,
    lat,
    lon
from {{ ref('stg_platform__regions') }}
where not is_deleted
