-- Visits that take part in rules: not deleted, of a live household (a visit to a deleted or
-- unknown household takes part in nothing); with the household's
-- home location and region, the visit's local date and its distance from home.
with visits as (
    select v.*
    from {{ ref('stg_platform__visits') }} as v
    where not v.is_deleted
)

select
    v.*,
    (v.started_at at time zone 'Asia/Shanghai')::date           as visit_date,
    extract(epoch from (v.ended_at - v.started_at)) / 60.0      as duration_minutes,
    cardinality(v.photo_sha256)                                 as photo_count,
    h.village_code,
    h.town_code,
    h.county_code,
    h.home_lat,
    h.home_lon,
    case when v.gps_lat is not null and v.gps_lon is not null
              and h.home_lat is not null and h.home_lon is not null
         then dq.distance_km(v.gps_lat, v.gps_lon, h.home_lat, h.home_lon)   -- core/sql/dq.sql
    end                                                         as distance_from_home_km
from visits as v
join {{ ref('int_live_households') }} as h using (household_id)
