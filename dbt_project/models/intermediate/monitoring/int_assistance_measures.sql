-- Assistance measures that take part in rules and marts: not deleted, household live.
-- The first four categories are developmental (开发式帮扶, DOMAIN.md).
select
    m.*,
    (m.category in ('产业帮扶', '就业帮扶', '金融帮扶', '公益岗位帮扶')) as is_developmental
from {{ ref('stg_platform__assistance_measures') }} as m
join {{ ref('int_live_households') }} as h using (household_id)
where not m.is_deleted
