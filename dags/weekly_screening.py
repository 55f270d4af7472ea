"""Weekly screening (周排查), Mondays 08:00 Asia/Shanghai, two hours after the daily run: per town an XLSX and an e-mail with the week's findings, the households to visit and the back-check draw. Logic: reports.weekly, reports.backcheck.

Wiring only: reports.produce rebuilds the report marts (they read the day's dq.issue) and
produces the report; `python -m reports weekly --date YYYY-MM-DD` does the same by hand.
On cron, not on the fpr_dq_issue asset: the daily DAG updates it every day, and Airflow offers
"asset or time" but not "asset and time" (docs/reports.md).
"""
from reports.dag import report_dag  # an Airflow DAG file: the shape is shared by the three reports

weekly_screening = report_dag(
    "weekly",
    dag_id="fpr_weekly_screening",
    cron="0 8 * * 1",
    description="防返贫动态监测：周排查（每周一，按乡镇）——本周新发现、仍未解决、超期、已解决问题，入户核实与抽查名单",
    doc_md=__doc__,
)
