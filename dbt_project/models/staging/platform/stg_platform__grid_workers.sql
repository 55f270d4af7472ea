with source as (
    {{ latest_platform_records('grid_workers') }}
),

renamed as (
    select
        payload->>'worker_id'                       as worker_id,
        {{ fw_to_hw("payload->>'name'") }}          as worker_name,
        nullif({{ fw_to_hw("payload->>'phone'") }}, '') as phone,
        payload->>'role'                            as worker_role,
        array(select jsonb_array_elements_text(coalesce(payload->'grid_ids', '[]'::jsonb))) as grid_ids,
        (payload->>'appointed_on')::date            as appointed_on,
        (payload->>'trained_on')::date              as trained_on,
        (payload->>'acknowledged_on')::date         as acknowledged_on,
        (payload->>'last_login_at')::timestamptz    as last_login_at,
        payload->>'status'                          as worker_status,
        is_deleted,
        updated_at
    from source
)

select * from renamed
