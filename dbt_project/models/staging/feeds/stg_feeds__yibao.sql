-- 医保结算明细：每行一个事件（无业务键），只取成功批次的行。
with source as (
    {{ feed_rows('yibao') }}
),

renamed as (
    select
        id_number,
        name,
        visit_type,
        admitted_on,
        discharged_on,
        total_cost,
        basic_insurance_paid,
        critical_illness_paid,
        medical_aid_paid,
        out_of_pocket,
        compliant_oop,
        institution,
        settled_on,
        extra,
        file_date,
        line_no,
        load_batch_id
    from source
    where version_rank = 1
)

select * from renamed
