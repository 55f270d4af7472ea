with source as (
    {{ latest_platform_records('persons') }}
),

renamed as (
    select
        payload->>'person_id'                       as person_id,
        payload->>'household_id'                    as household_id,
        {{ fw_to_hw("payload->>'name'") }}          as person_name,
        payload->>'gender'                          as gender,
        payload->>'id_type'                         as id_type,
        payload->>'id_number'                       as id_number_raw,
        {{ norm_id_exact("payload->>'id_number'") }} as id_number,
        (payload->>'birth_date')::date              as birth_date,
        payload->>'relation_to_head'                as relation_to_head,
        payload->>'ethnicity'                       as ethnicity,
        payload->>'education'                       as education,
        nullif(payload->>'student_status', '')      as student_status,
        payload->>'health_status'                   as health_status,
        payload->>'labor_skill'                     as labor_skill,
        nullif(payload->>'work_place', '')          as work_place,
        (payload->>'work_months')::integer          as work_months,
        (payload->>'med_insured')::boolean          as med_insured,
        payload->>'dibao_status'                    as dibao_status,
        payload->>'tekun_status'                    as tekun_status,
        payload->>'status'                          as person_status,
        is_deleted,
        updated_at
    from source
)

select * from renamed
