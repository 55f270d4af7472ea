-- Identity resolution. Every person the rules see (not deleted, in a live household, any
-- status) under the normalised ID number the department feeds are matched on. A feed row
-- matches EVERY person with its number (RULES.md), so this is not unique on id_number.
-- Also the ID checks (ID-01, ID-04), duplicates among live persons (ID-02) and 公安 deaths (ID-03).
-- stg_platform__persons already holds the normalised number (id_number, norm_id_exact of the
-- raw number) and the checks on it (id_valid, id_birth_date, id_gender), typed once per version.
-- Diff-incremental (macros/incremental_diff.sql): the whole result is computed every run, only
-- the rows that differ are written, and the keyed ID hash (the costly part; dim_person copies
-- it) is computed only for them, or for all after a key rotation or a change of this model.
{{ config(materialized='incremental', unique_key='person_id', incremental_strategy='delete+insert',
          on_schema_change='sync_all_columns', indexes=[{'columns': ['person_id'], 'unique': true}],
          post_hook="{{ diff_incremental_prune(ref('int_live_persons'), 'person_id', comment=true, with_key=true) }}") }}

-- not materialized: read twice (the live counts need two columns of it), inlined it is two scans;
-- materialized, PostgreSQL wrote the city's 1.3 million wide rows to temp files (about 360 MB)
with persons as not materialized (
    select p.*, p.id_number as norm_id
    from {{ ref('int_live_persons') }} as p
),

-- only the numbers shared by several live persons: every other live person with a number is
-- its only holder (1). A city's 1.3 million counts of 1 made the aggregate spill and the join
-- probe a table of them: 8.5-9.6 s against 9.9-11.3 s for the whole model query at 400,000.
shared_ids as (
    select norm_id, count(*) as live_persons_with_id
    from persons
    where person_status = '正常' and norm_id is not null
    group by norm_id
    having count(*) > 1
),

identity as (
    select
        c.person_id,
        c.household_id,
        h.county_code,
        h.town_code,
        h.village_code,
        c.norm_id                                                   as id_number,
        c.id_type,
        c.person_name,
        c.gender,
        c.birth_date,
        c.person_status,
        (c.person_status = '正常')                                  as is_live,
        c.id_valid,
        c.id_birth_date,
        c.id_gender,
        case when c.person_status = '正常'
             then coalesce(l.live_persons_with_id, case when c.norm_id is not null then 1 else 0 end)
             else 0 end                                             as live_persons_with_id,
        d.death_date                                                as gongan_death_date
    from persons as c
    join {{ ref('int_live_households') }} as h using (household_id)
    left join shared_ids as l on l.norm_id = c.norm_id
    left join {{ ref('int_gongan_deaths') }} as d on d.id_number = c.norm_id
),

changed as (
    {{ diff_incremental_changed('identity', 'person_id', kept=['id_hash'], with_key=true) }}
)

select c.*, {{ id_hash_or_null('c.id_number') }} as id_hash
from changed as c
