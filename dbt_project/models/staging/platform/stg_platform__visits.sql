-- Incremental: only records whose current version changed are typed again (macro
-- latest_platform_records); the table equals a full build of the same raw data.
{{ config(materialized='incremental', unique_key='record_id', incremental_strategy='delete+insert',
          on_schema_change='sync_all_columns', indexes=[{'columns': ['record_id'], 'unique': true}],
          post_hook="{{ platform_staging_post_hook('visits') }}") }}

with source as (
    {{ latest_platform_records('visits', incremental=true) }}
),

renamed as (
    select
        payload->>'visit_id'                        as visit_id,
        payload->>'household_id'                    as household_id,
        payload->>'worker_id'                       as worker_id,
        payload->>'visit_type'                      as visit_type,
        payload->>'mode'                            as visit_mode,
        (payload->>'started_at')::timestamptz       as started_at,
        (payload->>'ended_at')::timestamptz         as ended_at,
        (payload->>'submitted_at')::timestamptz     as submitted_at,
        (payload->>'gps_lat')::double precision     as gps_lat,
        (payload->>'gps_lon')::double precision     as gps_lon,
        (payload->>'gps_accuracy_m')::double precision as gps_accuracy_m,
        array(select jsonb_array_elements_text(
            case when jsonb_typeof(payload->'photo_sha256') = 'array' then payload->'photo_sha256'
                 else '[]'::jsonb end)) as photo_sha256,
        nullif(payload->>'signature_sha256', '')    as signature_sha256,
        (payload->>'risk_found')::boolean           as risk_found,
        payload->>'notes'                           as notes,
        is_deleted,
        updated_at,
        record_id,
        load_batch_id
    from source
)

select * from renamed
