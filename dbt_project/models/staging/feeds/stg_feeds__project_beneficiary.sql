-- 项目受益农户：每个业务键 (project_id, household_id) 取最新一份文件中的最后一行。
with source as (
    {{ feed_rows('project_beneficiary', ['project_id', 'household_id']) }}
),

renamed as (
    select
        project_id,
        household_id,
        benefit_mode,
        benefit_amount,
        extra,
        file_date,
        line_no,
        load_batch_id
    from source
    where version_rank = 1
)

select * from renamed
