-- 衔接资金项目库：每个业务键 (project_id) 取最新一份文件中的最后一行。
with source as (
    {{ feed_rows('fund_project', ['project_id']) }}
),

renamed as (
    select
        project_id,
        project_name,
        county_code,
        year,
        project_category,
        is_household_project,
        fund_level,
        approved_amount_wan,
        approved_on,
        implementing_entity,
        linkage_mode,
        planned_poverty_households,
        planned_monitored_households,
        asset_type,
        extra,
        file_date,
        line_no,
        load_batch_id
    from source
    where version_rank = 1
)

select * from renamed
