with source as (
    {{ latest_platform_records('regions') }}
),

renamed as (
    select
        {{ fw_to_hw("payload->>'code'") }}          as region_code,
        {{ fw_to_hw("payload->>'name'") }}          as region_name,
        payload->>'level'                           as region_level,
        nullif({{ fw_to_hw("payload->>'parent_code'") }}, '') as parent_code,
        (payload->>'lat')::double precision         as lat,
        (payload->>'lon')::double precision         as lon,
        is_deleted,
        updated_at
    from source
)

select * from renamed
