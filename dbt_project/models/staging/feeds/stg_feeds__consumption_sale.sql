-- 消费帮扶销售记录：每个业务键 (order_no) 取最新一份文件中的最后一行。
with source as (
    select
        f.order_no,
        f.cert_no,
        f.channel,
        f.buyer,
        f.sold_on,
        f.quantity,
        f.amount,
        f.extra,
        f.file_date,
        f.line_no,
        f.load_batch_id,
        row_number() over (partition by f.order_no
                           order by f.file_date desc, f.load_batch_id desc, f.line_no desc) as version_rank
    from {{ source('feeds', 'consumption_sale') }} as f
    join {{ source('raw', 'load_batch') }} as b
      on b.batch_id = f.load_batch_id and b.status = 'succeeded'
),

renamed as (
    select * from source where version_rank = 1
)

select * from renamed
