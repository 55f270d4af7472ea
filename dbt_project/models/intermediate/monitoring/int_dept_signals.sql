-- Every department signal in one shape: one row per staged row of the 8 department feeds
-- (every row for event feeds, the latest per business key for the others, as staging keeps
-- them) and one per non-deleted platform alert.
-- id_number is the normalised ID (feed readers normalise it; canlian's is the certificate's
-- first 18 characters). Matching to persons happens in int_dept_signals_linked.
{% set feeds = [
    ('yibao',    '医保'), ('minzheng', '民政'), ('canlian', '残联'), ('gongan', '公安'),
    ('jiaoyu',   '教育'), ('zhujian',  '住建'), ('shuili',  '水利'), ('renshe', '人社'),
] %}
{% set cols = '(id_number, village_code, signal_type, signal_value, signal_status, event_date, amount, file_date, line_no)' %}
with yibao {{ cols }} as (
    -- no 就诊类型 or institution: health detail stays out of the marts
    select id_number, null::text, '医疗结算', null::text, null::text,
           settled_on, compliant_oop, file_date, line_no
    from {{ ref('stg_feeds__yibao') }}
),

minzheng {{ cols }} as (
    select id_number, null, assistance_type, support_tier, status,
           started_on, amount, file_date, line_no
    from {{ ref('stg_feeds__minzheng') }}
),

canlian {{ cols }} as (
    select id_number, null, '残疾人证', disability_grade, status,
           issued_on, null::numeric, file_date, line_no
    from {{ ref('stg_feeds__canlian') }}
),

gongan {{ cols }} as (
    select id_number, null, event_type, null, null,
           event_on, null::numeric, file_date, line_no
    from {{ ref('stg_feeds__gongan') }}
),

-- the student-status file has no date column: the signal is dated by its file (positional
-- columns: file_date is both the event and the received date)
jiaoyu {{ cols }} as (
    select id_number, null, '学籍状态', school_stage, enrolment_status,
           file_date, aid_amount, file_date, line_no  -- noqa: AL08
    from {{ ref('stg_feeds__jiaoyu') }}
),

zhujian {{ cols }} as (
    select head_id_number, village_code, '住房安全鉴定', safety_grade, renovation_status,
           appraised_on, null::numeric, file_date, line_no
    from {{ ref('stg_feeds__zhujian') }}
),

-- an empty 户主身份证号 means the whole natural village
shuili {{ cols }} as (
    select head_id_number, village_code, '供水核查', supply_mode,
           supply_status || case when water_quality_ok is false then '，水质不达标' else '' end,
           checked_on, null::numeric, file_date, line_no
    from {{ ref('stg_feeds__shuili') }}
),

renshe {{ cols }} as (
    select id_number, null, '就业登记', work_place, employment_status,
           registered_on, monthly_income, file_date, line_no
    from {{ ref('stg_feeds__renshe') }}
),

feed_rows as (
    {% for folder, dept in feeds %}
    select '{{ folder }}'::text as source, '{{ dept }}'::text as source_dept, *
    from {{ folder }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

alerts as (
    select
        alert_id                    as signal_id,
        'platform'::text            as source,
        source_dept,
        id_number,
        person_id                   as platform_person_id,
        null::text                  as village_code,
        warning_type                as signal_type,
        null::text                  as signal_value,
        verify_result               as signal_status,
        event_date,
        amount,
        null::date                  as file_date,
        null::integer               as line_no,
        (pushed_at at time zone 'Asia/Shanghai')::date as received_on,
        verify_due_on,
        verify_result,
        verified_by_worker_id
    from {{ ref('stg_platform__alerts') }}
    where not is_deleted
)

select
    source || ':' || file_date || ':' || line_no as signal_id,
    source,
    source_dept,
    id_number,
    null::text          as platform_person_id,
    village_code,
    signal_type,
    signal_value,
    signal_status,
    event_date,
    amount,
    file_date,
    line_no,
    file_date           as received_on,
    null::date          as verify_due_on,
    null::text          as verify_result,
    null::text          as verified_by_worker_id
from feed_rows

union all

select * from alerts
