with source as (
    {{ latest_platform_records('grids') }}
),

renamed as (
    select
        payload->>'grid_id'                         as grid_id,
        {{ fw_to_hw("payload->>'village_code'") }}  as village_code,
        left({{ fw_to_hw("payload->>'village_code'") }}, 9) as town_code,
        left({{ fw_to_hw("payload->>'village_code'") }}, 6) as county_code,
        payload->>'name'                            as grid_name,
        payload->>'level'                           as grid_level,
        is_deleted,
        updated_at
    from source
)

select * from renamed
