-- Department signals for BI. PIPL: medical settlements (医保) and disability certificates (残联)
-- are health details (their mappings say `health_data: true`), so for those the type, grade
-- and amount are withheld here; the rules read them from intermediate.int_dept_signals_linked,
-- which BI roles cannot see.
with signals as (
    select *,
           {{ is_health_signal('source', 'source_dept') }} as is_health_signal
    from {{ ref('int_dept_signals_linked') }}
)

select
    signal_id,
    source,
    source_dept,
    case when is_health_signal then source_dept || '信息' else signal_type end as signal_type,
    case when is_health_signal then null else signal_value end              as signal_value,
    signal_status,
    event_date,
    case when is_health_signal then null else amount end                    as amount,
    received_on,
    file_date,
    line_no,
    id_number_masked,
    id_hash,
    matched_person_count,
    person_id,
    household_id,
    county_code,
    town_code,
    village_code,
    verify_due_on,
    verify_result,
    verified_by_worker_id
from signals
