-- 学生学籍与资助：每个业务键 (id_number) 取最新一份文件中的最后一行。
with source as (
    {{ feed_rows('jiaoyu', ['id_number']) }}
),

renamed as (
    select
        id_number,
        name,
        school_name,
        school_stage,
        grade,
        enrolment_status,
        aid_programme,
        aid_amount,
        extra,
        file_date,
        line_no,
        load_batch_id
    from source
    where version_rank = 1
)

select * from renamed
