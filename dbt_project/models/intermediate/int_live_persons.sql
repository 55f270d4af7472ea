-- Persons not deleted, in a household that is not deleted.
select p.*
from {{ ref('stg_platform__persons') }} as p
join {{ ref('int_live_households') }} as h using (household_id)
where not p.is_deleted
