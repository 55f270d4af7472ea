-- Deaths registered by 公安, one row per (normalised) ID number.
select
    id_number,
    min(event_on) as death_date
from {{ ref('stg_feeds__gongan') }}
where event_type = '死亡' and id_number is not null and event_on is not null
group by id_number
