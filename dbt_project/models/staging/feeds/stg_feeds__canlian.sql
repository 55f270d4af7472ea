-- 残疾人证信息：每行一个事件，所有成功批次的行都保留（同一天的更正文件会替换旧文件的行）。
with source as (
    {{ feed_rows('canlian') }}
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
