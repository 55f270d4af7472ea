-- One row per department signal (8 feeds + platform alerts) with its full detail (amounts,
-- disability grades: the rules need them), linked to a person and household
-- where the ID number names exactly one person (a duplicated number matches several: the count
-- says so and the rules use every match). A platform alert's own person_id wins.
-- Diff-incremental (macros/incremental_diff.sql): the whole result is computed every run, only
-- the rows that differ are written, and the keyed ID hash is computed only for them (for all
-- after a key rotation). id_number (normalised, internal like int_dept_signals') is kept so
-- that a changed number is seen even where its masked form is the same.
{{ config(materialized='incremental', unique_key='signal_id', incremental_strategy='delete+insert',
          on_schema_change='sync_all_columns', indexes=[{'columns': ['signal_id'], 'unique': true}],
          post_hook="{{ diff_incremental_prune(ref('int_dept_signals'), 'signal_id', comment=true, with_key=true) }}") }}

with matches as (
    select s.signal_id,
           count(*)                       as matched_person_count,
           count(distinct p.household_id) as matched_household_count,
           min(p.person_id)               as person_id,
           min(p.household_id)            as household_id
    from {{ ref('int_dept_signals') }} as s
    inner join {{ ref('int_person_identity') }} as p on s.id_number = p.id_number
    group by s.signal_id
),

-- Only platform alerts carry a platform person; joined apart so that the department signals'
-- NULLs never enter one hash join (half a million equal keys spill it into thousands of batches).
alert_persons as (
    select s.signal_id, p.person_id, p.household_id
    from {{ ref('int_dept_signals') }} as s
    inner join {{ ref('int_person_identity') }} as p on s.platform_person_id = p.person_id
),

linked as (
    select
        s.*,
        coalesce(m.matched_person_count, 0) as matched_person_count,
        coalesce(ap.person_id, case when m.matched_person_count = 1 then m.person_id end) as person_id,
        coalesce(ap.household_id, case when m.matched_household_count = 1 then m.household_id end) as household_id
    from {{ ref('int_dept_signals') }} as s
    left join matches as m using (signal_id)
    left join alert_persons as ap using (signal_id)
),

signals as (
    select
        l.signal_id,
        l.source,
        l.source_dept,
        l.signal_type,
        l.signal_value,
        l.signal_status,
        l.event_date,
        l.amount,
        l.received_on,
        l.file_date,
        l.line_no,
        l.id_number,
        {{ mask_id('l.id_number') }}           as id_number_masked,
        l.matched_person_count,
        l.person_id,
        l.household_id,
        coalesce(h.county_code, left(l.village_code, 6)) as county_code,
        coalesce(h.town_code, left(l.village_code, 9))   as town_code,
        coalesce(h.village_code, l.village_code)         as village_code,
        l.verify_due_on,
        l.verify_result,
        l.verified_by_worker_id
    from linked as l
    left join {{ ref('int_live_households') }} as h using (household_id)
),

changed as (
    {{ diff_incremental_changed('signals', 'signal_id', kept=['id_hash'], with_key=true) }}
)

select c.*, {{ id_hash_or_null('c.id_number') }} as id_hash
from changed as c
