-- PIPL: no full ID number in the person-level marts (masked values keep 6 + 4 characters).
select 'dim_person' as model, person_id as row_id from {{ ref('dim_person') }}
where {{ holds_full_id('id_number_masked') }} or {{ holds_full_id('person_name') }}
union all
select 'fct_dept_signal', signal_id from {{ ref('fct_dept_signal') }}
where {{ holds_full_id('id_number_masked') }}
