-- 衔接资金项目支付：每行一个事件，所有成功批次的行都保留（同一天的更正文件会替换旧文件的行）。
with source as (
    {{ feed_rows('fund_payment') }}
),

renamed as (
    select
        voucher_no,
        project_id,
        payee,
        paid_on,
        amount,
        extra,
        file_date,
        line_no,
        load_batch_id
    from source
    where version_rank = 1
)

select * from renamed
