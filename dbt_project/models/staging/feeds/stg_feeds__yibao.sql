-- 医保结算明细：每行一个事件（无业务键），只取成功批次的行。
with source as (
    select
        f.id_number,
        f.name,
        f.visit_type,
        f.admitted_on,
        f.discharged_on,
        f.total_cost,
        f.basic_insurance_paid,
        f.critical_illness_paid,
        f.medical_aid_paid,
        f.out_of_pocket,
        f.compliant_oop,
        f.institution,
        f.settled_on,
        f.extra,
        f.file_date,
        f.line_no,
        f.load_batch_id
    from {{ source('feeds', 'yibao') }} as f
    join {{ source('raw', 'load_batch') }} as b
      on b.batch_id = f.load_batch_id and b.status = 'succeeded'
),

renamed as (
    select * from source
)

select * from renamed
