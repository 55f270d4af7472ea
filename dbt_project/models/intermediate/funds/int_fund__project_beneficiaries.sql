-- 每个项目的受益农户汇总：实际带动户数（按平台未删除的户），其中脱贫户、曾纳入监测户、两者都不是的户。
-- 户编号不是平台在册农户的受益行单独计数，不参与身份判断。
with beneficiaries as (
    select btrim(b.project_id) as project_id, btrim(b.household_id) as household_id, b.benefit_amount
    from {{ ref('stg_feeds__project_beneficiary') }} as b
)

select
    b.project_id,
    count(distinct h.household_id)                                          as actual_households,
    count(distinct h.household_id) filter (where h.is_poverty_household)    as actual_poverty_households,
    count(distinct h.household_id) filter (where h.ever_monitored)          as actual_monitored_households,
    count(distinct h.household_id)
        filter (where not h.is_poverty_household and not h.ever_monitored)  as ineligible_households,
    string_agg(distinct h.household_id, ',')
        filter (where not h.is_poverty_household and not h.ever_monitored)  as ineligible_household_ids,
    count(*) filter (where h.household_id is null)                          as unmatched_beneficiary_rows,
    coalesce(sum(b.benefit_amount), 0)::numeric(18, 2)                      as benefit_amount
from beneficiaries as b
left join {{ ref('int_fund__households') }} as h on h.household_id = b.household_id
group by b.project_id
