with source as (
    {{ latest_platform_records('guarantees') }}
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
        updated_at
    from source
)

select * from renamed
