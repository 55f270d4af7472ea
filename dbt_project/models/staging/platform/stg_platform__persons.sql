-- Incremental: only records whose current version changed are typed again (macro
-- latest_platform_records); the table equals a full build of the same raw data.
{{ config(materialized='incremental', unique_key='record_id', incremental_strategy='delete+insert',
          on_schema_change='sync_all_columns', indexes=[{'columns': ['record_id'], 'unique': true}],
          post_hook="{{ platform_staging_post_hook('persons') }}") }}

with source as (
    {{ latest_platform_records('persons', incremental=true) }}
),

-- materialized: the ID expressions below would otherwise repeat the normalisation per use
renamed as materialized (
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
        updated_at,
        record_id,
        load_batch_id
    from source
),

-- the ID checks depend on the record alone: computed here, once per changed version
-- (int_person_identity: ID-01 validity, ID-04 birth date and gender from the number)
checked as materialized (
    select r.*, {{ id_number_valid('r.id_number') }} as id_valid
    from renamed as r
)

select
    c.*,
    case when c.id_valid then make_date(substr(c.id_number, 7, 4)::int, substr(c.id_number, 11, 2)::int,
                                        substr(c.id_number, 13, 2)::int) end as id_birth_date,
    case when c.id_valid then case when substr(c.id_number, 17, 1)::int % 2 = 1 then '男' else '女' end end
                                                                as id_gender
from checked as c
