-- 衔接资金项目库：每个业务键 (project_id) 取最新一份文件中的最后一行。
with source as (
    select
        f.project_id,
        f.project_name,
        f.county_code,
        f.year,
        f.project_category,
        f.is_household_project,
        f.fund_level,
        f.approved_amount_wan,
        f.approved_on,
        f.implementing_entity,
        f.linkage_mode,
        f.planned_poverty_households,
        f.planned_monitored_households,
        f.asset_type,
        f.extra,
        f.file_date,
        f.line_no,
        f.load_batch_id,
        row_number() over (partition by f.project_id
                           order by f.file_date desc, f.load_batch_id desc, f.line_no desc) as version_rank
    from {{ source('feeds', 'fund_project') }} as f
    join {{ source('raw', 'load_batch') }} as b
      on b.batch_id = f.load_batch_id and b.status = 'succeeded'
),

renamed as (
    select * from source where version_rank = 1
)

select * from renamed
