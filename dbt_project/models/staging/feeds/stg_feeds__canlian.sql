-- 残疾人证信息：每个业务键 (disability_cert_no) 取最新一份文件中的最后一行。
with source as (
    {{ feed_rows('canlian', ['disability_cert_no']) }}
),

renamed as (
    select
        disability_cert_no,
        id_number,
        name,
        disability_category,
        disability_grade,
        issued_on,
        status,
        extra,
        file_date,
        line_no,
        load_batch_id
    from source
    where version_rank = 1
)

select * from renamed
