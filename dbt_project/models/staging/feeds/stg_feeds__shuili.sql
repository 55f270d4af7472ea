-- 农村供水核查：每个业务键 (village_code, natural_village, head_id_number) 取最新一份文件中的最后一行。
with source as (
    select
        f.village_code,
        f.natural_village,
        f.head_id_number,
        f.supply_mode,
        f.water_quality_ok,
        f.supply_status,
        f.checked_on,
        f.extra,
        f.file_date,
        f.line_no,
        f.load_batch_id,
        row_number() over (partition by f.village_code, f.natural_village, f.head_id_number
                           order by f.file_date desc, f.load_batch_id desc, f.line_no desc) as version_rank
    from {{ source('feeds', 'shuili') }} as f
    join {{ source('raw', 'load_batch') }} as b
      on b.batch_id = f.load_batch_id and b.status = 'succeeded'
),

renamed as (
    select * from source where version_rank = 1
)

select * from renamed
