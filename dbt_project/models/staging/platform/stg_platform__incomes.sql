-- Incremental: only records whose current version changed are typed again (macro
-- latest_platform_records); the table equals a full build of the same raw data.
{{ config(materialized='incremental', unique_key='record_id', incremental_strategy='delete+insert',
          on_schema_change='sync_all_columns', indexes=[{'columns': ['record_id'], 'unique': true}],
          post_hook="{{ platform_staging_post_hook('incomes') }}") }}

with source as (
    {{ latest_platform_records('incomes', incremental=true) }}
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
        updated_at,
        record_id,
        load_batch_id
    from source
)

select * from renamed
