with source as (
    {{ latest_platform_records('monitoring_cases') }}
),

renamed as (
    select
        payload->>'case_id'                         as case_id,
        payload->>'household_id'                    as household_id,
        {{ fw_to_hw("payload->>'monitor_category'") }} as monitor_category,
        (payload->>'identified_on')::date           as identified_on,
        -- real exports carry 务工就业不稳 without 因: normalise it
        array(
            select case when {{ fw_to_hw('rt') }} = '务工就业不稳' then '因务工就业不稳'
                        else {{ fw_to_hw('rt') }} end
            from jsonb_array_elements_text(coalesce(payload->'risk_types', '[]'::jsonb)) as t(rt)  -- noqa: RF02
        )                                           as risk_types,
        nullif(btrim(payload->>'risk_note'), '')    as risk_note,
        payload->>'discovery_channel'               as discovery_channel,
        coalesce((payload->>'is_eliminated')::boolean, false) as is_eliminated,
        (payload->>'eliminated_on')::date           as eliminated_on,
        nullif(payload->>'eliminate_method', '')    as eliminate_method,
        nullif(payload->>'contact_worker_id', '')   as contact_worker_id,
        is_deleted,
        updated_at
    from source
)

select * from renamed
