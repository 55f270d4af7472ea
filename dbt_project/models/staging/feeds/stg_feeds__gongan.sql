-- 户籍变动事件（死亡、户口迁出）：每个业务键 (id_number, event_type) 取最新一份文件中的最后一行。
with source as (
    {{ feed_rows('gongan', ['id_number', 'event_type']) }}
),

renamed as (
    select
        id_number,
        name,
        event_type,
        event_on,
        registration_office,
        extra,
        file_date,
        line_no,
        load_batch_id
    from source
    where version_rank = 1
)

select * from renamed
