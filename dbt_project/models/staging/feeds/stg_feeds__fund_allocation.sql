-- 衔接资金下达：每个业务键 (document_no, fund_level, county_code) 取最新一份文件中的最后一行。
with source as (
    select
        f.document_no,
        f.fund_level,
        f.year,
        f.county_code,
        f.amount_wan,
        f.extra,
        f.file_date,
        f.line_no,
        f.load_batch_id,
        row_number() over (partition by f.document_no, f.fund_level, f.county_code
                           order by f.file_date desc, f.load_batch_id desc, f.line_no desc) as version_rank
    from {{ source('feeds', 'fund_allocation') }} as f
    join {{ source('raw', 'load_batch') }} as b
      on b.batch_id = f.load_batch_id and b.status = 'succeeded'
),

renamed as (
    select * from source where version_rank = 1
)

select * from renamed
