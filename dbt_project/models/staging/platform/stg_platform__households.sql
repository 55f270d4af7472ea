with source as (
    {{ latest_platform_records('households') }}
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
        updated_at
    from source
)

select * from renamed
