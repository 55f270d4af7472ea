-- 消费帮扶供应商：每个业务键 (credit_code) 取最新一份文件中的最后一行。
with source as (
    {{ feed_rows('consumption_supplier', ['credit_code']) }}
),

renamed as (
    select
        credit_code,
        supplier_name,
        county_code,
        is_832_supplier,
        entity_type,
        extra,
        file_date,
        line_no,
        load_batch_id
    from source
    where version_rank = 1
)

select * from renamed
