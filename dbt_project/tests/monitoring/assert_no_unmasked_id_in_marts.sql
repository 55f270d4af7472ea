-- PIPL: no full ID number in the person-level marts (masked values keep 6 + 4 characters).
select 'dim_person' as model, person_id as row_id from {{ ref('dim_person') }}
where id_number_masked ~ '[0-9]{17}[0-9X]' or person_name ~ '[0-9]{17}[0-9X]'
union all
select 'fct_dept_signal', signal_id from {{ ref('fct_dept_signal') }}
where id_number_masked ~ '[0-9]{17}[0-9X]'
