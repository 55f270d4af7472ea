-- 扶贫（帮扶）产品认定：每个业务键 (cert_no) 取最新一份文件中的最后一行。
with source as (
    select
        f.cert_no,
        f.product_name,
        f.category,
        f.supplier_credit_code,
        f.certifying_body,
        f.certified_on,
        f.valid_until,
        f.origin_county_code,
        f.value_wan,
        f.extra,
        f.file_date,
        f.line_no,
        f.load_batch_id,
        row_number() over (partition by f.cert_no
                           order by f.file_date desc, f.load_batch_id desc, f.line_no desc) as version_rank
    from {{ source('feeds', 'consumption_product') }} as f
    join {{ source('raw', 'load_batch') }} as b
      on b.batch_id = f.load_batch_id and b.status = 'succeeded'
),

renamed as (
    select * from source where version_rank = 1
)

select * from renamed
