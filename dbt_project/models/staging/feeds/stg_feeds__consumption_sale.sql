-- 消费帮扶销售记录：每个业务键 (order_no) 取最新一份文件中的最后一行。
with source as (
    {{ feed_rows('consumption_sale', ['order_no']) }}
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
