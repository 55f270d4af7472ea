-- 社会救助对象名册：每行一个事件，所有成功批次的行都保留（同一天的更正文件会替换旧文件的行）。
with source as (
    {{ feed_rows('minzheng') }}
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
