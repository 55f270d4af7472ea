-- Persons (not deleted, household live, any status). PIPL: the ID number only masked and as a
-- keyed hash for joins (key only inside PostgreSQL, pipeline/pii.py); no phone, no health
-- status. No birth date or year, only an age band: the masked digits of an ID number are the
-- birth date, and a birth year beside the masked number narrows a person to a few dozen.
select
    person_id,
    household_id,
    county_code,
    town_code,
    village_code,
    person_name,
    gender,
    {{ age_band('birth_date') }}               as age_band,
    id_type,
    {{ mask_id('id_number') }}                 as id_number_masked,
    {{ id_hash_or_null('id_number') }}         as id_hash,
    person_status,
    is_live,
    id_valid,
    -- ID-04 compares only numbers that pass ID-01
    case when id_valid then (birth_date is distinct from id_birth_date) end as id_birth_mismatch,
    case when id_valid then (gender is distinct from id_gender) end       as id_gender_mismatch,
    live_persons_with_id,
    gongan_death_date
from {{ ref('int_person_identity') }}
