-- Persons not deleted, in a household that is not deleted.
-- A view: a city's million persons written again every day cost more (12 s) than the join
-- costs its two readers (int_person_identity, rule PAPER-08).
{{ config(materialized='view') }}
select p.*
from {{ ref('stg_platform__persons') }} as p
join {{ ref('int_live_households') }} as h using (household_id)
where not p.is_deleted
