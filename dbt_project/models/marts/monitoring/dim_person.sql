-- Persons (not deleted, household live, any status). PIPL: the ID number only masked and as a
-- keyed hash for joins; no phone, no health status. Only the birth year: the masked digits of
-- an ID number are the birth date, so publishing it would give the full number back.
select
    person_id,
    household_id,
    county_code,
    town_code,
    village_code,
    person_name,
    gender,
    extract(year from birth_date)::int        as birth_year,
    id_type,
    {{ mask_id('id_number') }}                 as id_number_masked,
    {{ id_hash_or_null('id_number') }}         as id_hash,
    person_status,
    is_live,
    id_valid,
    -- ID-04 compares only numbers that pass ID-01
    case when id_valid then birth_date is distinct from id_birth_date end as id_birth_mismatch,
    case when id_valid then gender is distinct from id_gender end         as id_gender_mismatch,
    live_persons_with_id,
    gongan_death_date
from {{ ref('int_person_identity') }}
