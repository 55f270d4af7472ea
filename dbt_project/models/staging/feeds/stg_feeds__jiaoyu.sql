-- 学生学籍与资助：每个业务键 (id_number) 取最新一份文件中的最后一行。
with source as (
    select
        f.id_number,
        f.name,
        f.school_name,
        f.school_stage,
        f.grade,
        f.enrolment_status,
        f.aid_programme,
        f.aid_amount,
        f.extra,
        f.file_date,
        f.line_no,
        f.load_batch_id,
        row_number() over (partition by f.id_number
                           order by f.file_date desc, f.load_batch_id desc, f.line_no desc) as version_rank
    from {{ source('feeds', 'jiaoyu') }} as f
    join {{ source('raw', 'load_batch') }} as b
      on b.batch_id = f.load_batch_id and b.status = 'succeeded'
),

renamed as (
    select * from source where version_rank = 1
)

select * from renamed
