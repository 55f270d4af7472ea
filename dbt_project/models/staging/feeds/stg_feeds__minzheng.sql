-- 社会救助对象名册：每个业务键 (id_number, assistance_type, started_on) 取最新一份文件中的最后一行。
with source as (
    {{ feed_rows('minzheng', ['id_number', 'assistance_type', 'started_on']) }}
),

renamed as (
    select
        id_number,
        name,
        assistance_type,
        support_tier,
        amount,
        started_on,
        ended_on,
        status,
        extra,
        file_date,
        line_no,
        load_batch_id
    from source
    where version_rank = 1
)

select * from renamed
