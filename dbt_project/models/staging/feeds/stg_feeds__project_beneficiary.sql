-- 项目受益农户：每个业务键 (project_id, household_id) 取最新一份文件中的最后一行。
with source as (
    select
        f.project_id,
        f.household_id,
        f.benefit_mode,
        f.benefit_amount,
        f.extra,
        f.file_date,
        f.line_no,
        f.load_batch_id,
        row_number() over (partition by f.project_id, f.household_id
                           order by f.file_date desc, f.load_batch_id desc, f.line_no desc) as version_rank
    from {{ source('feeds', 'project_beneficiary') }} as f
    join {{ source('raw', 'load_batch') }} as b
      on b.batch_id = f.load_batch_id and b.status = 'succeeded'
),

renamed as (
    select * from source where version_rank = 1
)

select * from renamed
