-- 每个项目的支付汇总（元），以及早于批复日期的支付。
with payments as (
    select btrim(project_id) as project_id, voucher_no, paid_on, amount
    from {{ ref('stg_feeds__fund_payment') }}
)

select
    pay.project_id,
    count(*)                                              as payment_count,
    coalesce(sum(pay.amount), 0)::numeric(18, 2)          as paid_amount,
    min(pay.paid_on)                                      as first_paid_on,
    max(pay.paid_on)                                      as last_paid_on,
    count(*) filter (where pay.paid_on < p.approved_on)   as payments_before_approval
from payments as pay
left join {{ ref('int_fund__projects') }} as p on p.project_id = pay.project_id
group by pay.project_id
