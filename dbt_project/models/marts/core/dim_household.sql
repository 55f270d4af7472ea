select
    h.household_id,
    h.county_code,
    h.town_code,
    h.village_code,
    h.natural_village,
    h.household_type,
    h.head_person_id,
    h.household_size,
    {{ mask_phone('h.phone') }}                          as phone_masked,
    h.home_lat,
    h.home_lon,
    h.in_relocation_site,
    h.no_labor_household,
    h.grid_id,
    (g.grid_id is not null)                              as grid_exists,
    h.updated_at
from {{ ref('int_live_households') }} as h
left join {{ ref('int_grids') }} as g using (grid_id)
