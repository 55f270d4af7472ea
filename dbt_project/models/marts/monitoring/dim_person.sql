-- Persons (not deleted, household live, any status). PIPL: the ID number only masked and as a
-- keyed hash for joins (key only inside PostgreSQL, pipeline/pii.py); no phone, no health
-- status. No birth date or year, only an age band: the masked digits of an ID number are the
-- birth date, and a birth year beside the masked number narrows a person to a few dozen.
-- Diff-incremental (macros/incremental_diff.sql): every column, the run-date age band too, is
-- computed every run and compared; only rows that differ are written, so no stored row keeps
-- an age band of another date. The ID hash comes from int_person_identity (computed there once
-- per changed person).
{{ config(materialized='incremental', unique_key='person_id', incremental_strategy='delete+insert',
          on_schema_change='sync_all_columns', indexes=[{'columns': ['person_id'], 'unique': true}],
          post_hook="{{ diff_incremental_prune(ref('int_person_identity'), 'person_id') }}") }}

{#- the hashes it copies need the key: a warehouse without one fails here too, plainly #}
{{ require_pii_key() }}

with persons as (
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
        id_hash,
        person_status,
        is_live,
        id_valid,
        -- ID-04 compares only numbers that pass ID-01
        case when id_valid then (birth_date is distinct from id_birth_date) end as id_birth_mismatch,
        case when id_valid then (gender is distinct from id_gender) end       as id_gender_mismatch,
        live_persons_with_id,
        gongan_death_date
    from {{ ref('int_person_identity') }}
)

{{ diff_incremental_changed('persons', 'person_id') }}
