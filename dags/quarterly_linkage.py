"""Quarterly department linkage (季联动), on the first day of each quarter at 10:00 Asia/Shanghai for the quarter just ended: one XLSX sheet per department feed and an e-mail, from marts.rpt_dept_linkage_quarterly. Logic: reports.quarterly.

Wiring only: reports.produce rebuilds the report marts (they read the day's dq.issue) and
produces the report; `python -m reports quarterly --date YYYY-MM-DD` does the same by hand.
On cron, not on the fpr_dq_issue asset: the daily DAG updates it every day, and Airflow offers
"asset or time" but not "asset and time" (docs/reports.md).
"""
from reports.dag import report_dag  # an Airflow DAG file: the shape is shared by the three reports

quarterly_linkage = report_dag(
    "quarterly",
    dag_id="fpr_quarterly_linkage",
    cron="0 10 1 1,4,7,10 *",
    description="防返贫动态监测：季联动（每季度首日）——各部门数据收到、匹配、信号、纳入监测与核实情况",
    doc_md=__doc__,
)
