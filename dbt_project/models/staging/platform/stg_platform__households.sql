-- Incremental: only records whose current version changed are typed again (macro
-- latest_platform_records); the table equals a full build of the same raw data.
{{ config(materialized='incremental', unique_key='record_id', incremental_strategy='delete+insert',
          on_schema_change='sync_all_columns', indexes=[{'columns': ['record_id'], 'unique': true}],
          post_hook="{{ platform_staging_post_hook('households') }}") }}

with source as (
    {{ latest_platform_records('households', incremental=true) }}
),

renamed as (
    select
        payload->>'household_id'                    as household_id,
        {{ fw_to_hw("payload->>'village_code'") }}  as village_code,
        left({{ fw_to_hw("payload->>'village_code'") }}, 9) as town_code,
        left({{ fw_to_hw("payload->>'village_code'") }}, 6) as county_code,
        {{ fw_to_hw("payload->>'natural_village'") }} as natural_village,
        {{ fw_to_hw("payload->>'household_type'") }} as household_type,
        payload->>'head_person_id'                  as head_person_id,
        (payload->>'household_size')::integer       as household_size,
        nullif({{ fw_to_hw("payload->>'phone'") }}, '') as phone,
        (payload->>'home_lat')::double precision    as home_lat,
        (payload->>'home_lon')::double precision    as home_lon,
        (payload->>'in_relocation_site')::boolean   as in_relocation_site,
        (payload->>'no_labor_household')::boolean   as no_labor_household,
        nullif(btrim(payload->>'grid_id'), '')      as grid_id,
        is_deleted,
        updated_at,
        record_id,
        load_batch_id
    from source
)

select * from renamed
