-- 就业登记：每个业务键 (id_number, registered_on) 取最新一份文件中的最后一行。
with source as (
    {{ feed_rows('renshe', ['id_number', 'registered_on']) }}
),

renamed as (
    select
        id_number,
        name,
        employment_status,
        work_place,
        monthly_income,
        public_welfare_job,
        registered_on,
        extra,
        file_date,
        line_no,
        load_batch_id
    from source
    where version_rank = 1
)

select * from renamed
