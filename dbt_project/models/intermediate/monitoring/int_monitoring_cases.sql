-- Monitoring cases that take part in rules and marts: not deleted, household live.
-- "Eliminated on the run date" (RULES.md): is_eliminated and (eliminated_on null or <= run date).
with cases as (
    select c.*
    from {{ ref('stg_platform__monitoring_cases') }} as c
    join {{ ref('int_live_households') }} as h using (household_id)
    where not c.is_deleted
)

select
    c.*,
    (c.is_eliminated and (c.eliminated_on is null or c.eliminated_on <= {{ run_date() }}))
                                                    as eliminated_by_run_date
from cases as c
