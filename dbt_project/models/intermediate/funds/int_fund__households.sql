-- 受益农户的身份：未删除的户，是否脱贫户，是否曾纳入监测（有任一未删除的监测记录）。
select
    h.household_id,
    h.county_code,
    h.household_type,
    h.household_type = '脱贫户' as is_poverty_household,
    exists (
        select 1 from {{ ref('stg_platform__monitoring_cases') }} as c
        where c.household_id = h.household_id and not c.is_deleted
    )                            as ever_monitored
from {{ ref('int_live_households') }} as h
