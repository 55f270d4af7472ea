-- 消费帮扶销售记录：每行一个事件，所有成功批次的行都保留（同一天的更正文件会替换旧文件的行）。
with source as (
    {{ feed_rows('consumption_sale') }}
),

renamed as (
    select
        order_no,
        cert_no,
        channel,
        buyer,
        sold_on,
        quantity,
        amount,
        extra,
        file_date,
        line_no,
        load_batch_id
    from source
    where version_rank = 1
)

select * from renamed
