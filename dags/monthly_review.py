"""Monthly review (月研判), on the 1st at 09:00 Asia/Shanghai for the month just ended: per county an HTML e-mail with charts and an XLSX pack, from marts.rpt_monthly_review. Logic: reports.monthly.

Wiring only: reports.produce rebuilds the report marts (they read the day's dq.issue) and
produces the report; `python -m reports monthly --date YYYY-MM-DD` does the same by hand.
On cron, not on the fpr_dq_issue asset: the daily DAG updates it every day, and Airflow offers
"asset or time" but not "asset and time" (docs/reports.md).
"""
from reports.dag import report_dag  # an Airflow DAG file: the shape is shared by the three reports

monthly_review = report_dag(
    "monthly",
    dag_id="fpr_monthly_review",
    cron="0 9 1 * *",
    description="防返贫动态监测：月研判（每月1日，按县）——近6个月趋势、问题最多的村和网格员、久拖未决问题",
    doc_md=__doc__,
)
