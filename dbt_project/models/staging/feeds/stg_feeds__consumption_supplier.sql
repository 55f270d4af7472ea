-- 消费帮扶供应商：每个业务键 (credit_code) 取最新一份文件中的最后一行。
with source as (
    select
        f.credit_code,
        f.supplier_name,
        f.county_code,
        f.is_832_supplier,
        f.entity_type,
        f.extra,
        f.file_date,
        f.line_no,
        f.load_batch_id,
        row_number() over (partition by f.credit_code
                           order by f.file_date desc, f.load_batch_id desc, f.line_no desc) as version_rank
    from {{ source('feeds', 'consumption_supplier') }} as f
    join {{ source('raw', 'load_batch') }} as b
      on b.batch_id = f.load_batch_id and b.status = 'succeeded'
),

renamed as (
    select * from source where version_rank = 1
)

select * from renamed
