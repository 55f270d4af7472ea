with source as (
    {{ latest_platform_records('incomes') }}
),

renamed as (
    select
        payload->>'household_id'                    as household_id,
        (payload->>'year')::integer                 as income_year,
        (payload->>'wage_income')::numeric(14,2)    as wage_income,
        (payload->>'business_income')::numeric(14,2) as business_income,
        (payload->>'property_income')::numeric(14,2) as property_income,
        (payload->>'transfer_income')::numeric(14,2) as transfer_income,
        (payload->>'business_expense')::numeric(14,2) as business_expense,
        (payload->>'net_income')::numeric(14,2)     as net_income,
        (payload->>'per_capita_net_income')::numeric(14,2) as per_capita_net_income,
        (payload->>'compliant_oop_expense')::numeric(14,2) as compliant_oop_expense,
        is_deleted,
        updated_at
    from source
)

select * from renamed
