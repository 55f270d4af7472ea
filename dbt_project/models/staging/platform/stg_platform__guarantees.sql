-- Incremental: only records whose current version changed are typed again (macro
-- latest_platform_records); the table equals a full build of the same raw data.
{{ config(materialized='incremental', unique_key='record_id', incremental_strategy='delete+insert',
          on_schema_change='sync_all_columns', indexes=[{'columns': ['record_id'], 'unique': true}],
          post_hook="{{ platform_staging_post_hook('guarantees') }}") }}

with source as (
    {{ latest_platform_records('guarantees', incremental=true) }}
),

renamed as (
    select
        payload->>'household_id'                    as household_id,
        (payload->>'assessed_on')::date             as assessed_on,
        (payload->>'housing_unsafe')::boolean       as housing_unsafe,
        (payload->>'dropout')::boolean              as dropout,
        (payload->>'water_unsafe')::boolean         as water_unsafe,
        (payload->>'uninsured_member')::boolean     as uninsured_member,
        is_deleted,
        updated_at,
        record_id,
        load_batch_id
    from source
)

select * from renamed
