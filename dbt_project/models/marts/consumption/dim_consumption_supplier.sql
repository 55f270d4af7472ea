-- 消费帮扶供应商维表：每个统一社会信用代码一行（最新版本）。
with suppliers as (
    select upper(btrim(credit_code)) as credit_code, supplier_name, county_code, is_832_supplier, entity_type
    from {{ ref('stg_feeds__consumption_supplier') }}
),

products as (
    select upper(btrim(supplier_credit_code)) as credit_code, count(*) as product_count
    from {{ ref('stg_feeds__consumption_product') }}
    group by 1
)

select s.credit_code, s.supplier_name, s.county_code, s.is_832_supplier, s.entity_type,
       coalesce(p.product_count, 0) as product_count
from suppliers as s
left join products as p on p.credit_code = s.credit_code
