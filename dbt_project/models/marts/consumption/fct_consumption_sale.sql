-- 消费帮扶销售事实表：每个销售单号一行，关联认定产品（认定编号不在认定名单中的销售也保留）。
-- 县代码取产品产地县，产品不在名单时取空。
select
    btrim(s.order_no)                               as order_no,
    btrim(s.cert_no)                                as cert_no,
    p.cert_no is not null                           as product_listed,
    p.product_name,
    p.category,
    p.supplier_credit_code,
    p.origin_county_code                            as county_code,
    s.channel,
    s.buyer,
    s.sold_on,
    date_trunc('month', s.sold_on)::date            as sale_month,
    s.quantity,
    s.amount::numeric(18, 2)                        as amount,
    p.certified_on,
    p.valid_until,
    p.cert_no is not null
        and (s.sold_on > p.valid_until or s.sold_on < p.certified_on) as outside_certification
from {{ ref('stg_feeds__consumption_sale') }} as s
left join {{ ref('dim_consumption_product') }} as p on p.cert_no = btrim(s.cert_no)
