-- rpt_county_daily: one row per county and report date.
select report_date, county_code
from {{ ref('rpt_county_daily') }}
group by report_date, county_code
having count(*) > 1
