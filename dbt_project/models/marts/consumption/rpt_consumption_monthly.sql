-- 消费帮扶月度销售：县 × 月份 × 销售渠道（县代码为产品产地县，未认定产品的销售县代码为空）。
select
    county_code,
    sale_month,
    to_char(sale_month, 'YYYY-MM')                          as sale_month_label,
    coalesce(channel, '未填')                                as channel,
    count(*)                                                as sale_count,
    sum(quantity)                                           as quantity,
    sum(amount)::numeric(18, 2)                             as sales_amount,
    count(distinct cert_no)                                 as product_count,
    count(*) filter (where not product_listed)              as unlisted_sale_count,
    coalesce(sum(amount) filter (where not product_listed), 0)::numeric(18, 2) as unlisted_sales_amount
from {{ ref('fct_consumption_sale') }}
group by county_code, sale_month, coalesce(channel, '未填')
