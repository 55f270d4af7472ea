with source as (
    {{ latest_platform_records('alerts') }}
),

renamed as (
    select
        payload->>'alert_id'                        as alert_id,
        payload->>'source_dept'                     as source_dept,
        nullif(payload->>'person_id', '')           as person_id,
        {{ norm_id("payload->>'id_number'") }}      as id_number,
        payload->>'warning_type'                    as warning_type,
        (payload->>'event_date')::date              as event_date,
        (payload->>'amount')::numeric(14,2)         as amount,
        (payload->>'pushed_at')::timestamptz        as pushed_at,
        (payload->>'verify_due_on')::date           as verify_due_on,
        nullif(payload->>'verify_result', '')       as verify_result,
        nullif(payload->>'verified_by_worker_id', '') as verified_by_worker_id,
        is_deleted,
        updated_at
    from source
)

select * from renamed
