-- 扶贫（帮扶）产品认定维表：每个认定编号一行（最新版本），价值量由万元换算为元。
with products as (
    select
        btrim(cert_no)                          as cert_no,
        product_name,
        category,
        upper(btrim(supplier_credit_code))      as supplier_credit_code,
        certifying_body,
        certified_on,
        valid_until,
        origin_county_code,
        (value_wan * 10000)::numeric(18, 2)     as value_amount
    from {{ ref('stg_feeds__consumption_product') }}
)

select
    p.cert_no,
    p.product_name,
    p.category,
    p.supplier_credit_code,
    s.supplier_name,
    s.credit_code is not null                   as supplier_listed,
    p.certifying_body,
    p.certified_on,
    p.valid_until,
    {{ run_date() }} between p.certified_on and p.valid_until as is_valid_on_run_date,
    p.origin_county_code,
    p.value_amount
from products as p
left join {{ ref('dim_consumption_supplier') }} as s on s.credit_code = p.supplier_credit_code
