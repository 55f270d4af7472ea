-- Household incomes (one row per household and year): not deleted, household live;
-- is_latest_year marks the most recent year the income rules use.
select
    i.*,
    (i.income_year = max(i.income_year) over (partition by i.household_id)) as is_latest_year
from {{ ref('stg_platform__incomes') }} as i
join {{ ref('int_live_households') }} as h using (household_id)
where not i.is_deleted
