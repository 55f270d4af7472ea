-- 衔接资金下达：每个业务键 (document_no, fund_level, county_code) 取最新一份文件中的最后一行。
with source as (
    {{ feed_rows('fund_allocation', ['document_no', 'fund_level', 'county_code']) }}
),

renamed as (
    select
        document_no,
        fund_level,
        year,
        county_code,
        amount_wan,
        extra,
        file_date,
        line_no,
        load_batch_id
    from source
    where version_rank = 1
)

select * from renamed
