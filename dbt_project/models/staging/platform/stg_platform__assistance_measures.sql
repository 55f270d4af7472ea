with source as (
    {{ latest_platform_records('assistance_measures') }}
),

renamed as (
    select
        payload->>'measure_id'                      as measure_id,
        payload->>'household_id'                    as household_id,
        nullif(payload->>'person_id', '')           as person_id,
        {{ fw_to_hw("payload->>'category'") }}      as category,
        payload->>'item'                            as item,
        (payload->>'start_date')::date              as start_date,
        (payload->>'end_date')::date                as end_date,
        (payload->>'amount')::numeric(14,2)         as amount,
        nullif(payload->>'fund_project_id', '')     as fund_project_id,
        is_deleted,
        updated_at
    from source
)

select * from renamed
