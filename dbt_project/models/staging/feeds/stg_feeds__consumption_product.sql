-- 扶贫（帮扶）产品认定：每个业务键 (cert_no) 取最新一份文件中的最后一行。
with source as (
    {{ feed_rows('consumption_product', ['cert_no']) }}
),

renamed as (
    select
        cert_no,
        product_name,
        category,
        supplier_credit_code,
        certifying_body,
        certified_on,
        valid_until,
        origin_county_code,
        value_wan,
        extra,
        file_date,
        line_no,
        load_batch_id
    from source
    where version_rank = 1
)

select * from renamed
