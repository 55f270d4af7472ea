-- 残疾人证信息：每个业务键 (disability_cert_no) 取最新一份文件中的最后一行。
with source as (
    select
        f.disability_cert_no,
        f.id_number,
        f.name,
        f.disability_category,
        f.disability_grade,
        f.issued_on,
        f.status,
        f.extra,
        f.file_date,
        f.line_no,
        f.load_batch_id,
        row_number() over (partition by f.disability_cert_no
                           order by f.file_date desc, f.load_batch_id desc, f.line_no desc) as version_rank
    from {{ source('feeds', 'canlian') }} as f
    join {{ source('raw', 'load_batch') }} as b
      on b.batch_id = f.load_batch_id and b.status = 'succeeded'
),

renamed as (
    select * from source where version_rank = 1
)

select * from renamed
