-- 农村供水核查：每个业务键 (village_code, natural_village, head_id_number) 取最新一份文件中的最后一行。
with source as (
    {{ feed_rows('shuili', ['village_code', 'natural_village', 'head_id_number']) }}
),

renamed as (
    select
        village_code,
        natural_village,
        head_id_number,
        supply_mode,
        water_quality_ok,
        supply_status,
        checked_on,
        extra,
        file_date,
        line_no,
        load_batch_id
    from source
    where version_rank = 1
)

select * from renamed
