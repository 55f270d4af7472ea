-- 农村住房安全鉴定：每个业务键 (head_id_number, appraised_on) 取最新一份文件中的最后一行。
with source as (
    {{ feed_rows('zhujian', ['head_id_number', 'appraised_on']) }}
),

renamed as (
    select
        head_id_number,
        head_name,
        village_code,
        appraised_on,
        safety_grade,
        renovation_status,
        extra,
        file_date,
        line_no,
        load_batch_id
    from source
    where version_rank = 1
)

select * from renamed
