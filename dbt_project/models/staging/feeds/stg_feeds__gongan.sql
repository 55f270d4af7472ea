-- 户籍变动事件（死亡、户口迁出）：每行一个事件，所有成功批次的行都保留（同一天的更正文件会替换旧文件的行）。
with source as (
    {{ feed_rows('gongan') }}
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
