-- 农村住房安全鉴定：每个业务键 (head_id_number, appraised_on) 取最新一份文件中的最后一行。
with source as (
    select
        f.head_id_number,
        f.head_name,
        f.village_code,
        f.appraised_on,
        f.safety_grade,
        f.renovation_status,
        f.extra,
        f.file_date,
        f.line_no,
        f.load_batch_id,
        row_number() over (partition by f.head_id_number, f.appraised_on
                           order by f.file_date desc, f.load_batch_id desc, f.line_no desc) as version_rank
    from {{ source('feeds', 'zhujian') }} as f
    join {{ source('raw', 'load_batch') }} as b
      on b.batch_id = f.load_batch_id and b.status = 'succeeded'
),

renamed as (
    select * from source where version_rank = 1
)

select * from renamed
