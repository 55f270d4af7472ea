-- 衔接资金项目支付：每个业务键 (voucher_no) 取最新一份文件中的最后一行。
with source as (
    {{ feed_rows('fund_payment', ['voucher_no']) }}
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
