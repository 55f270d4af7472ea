"""Monthly review (月研判), on the 1st at 09:00 Asia/Shanghai for the month just ended: per county an HTML e-mail with charts and an XLSX pack, from marts.rpt_monthly_review. Logic: reports.monthly.

Wiring only: reports.produce rebuilds the report marts (they read the day's dq.issue) and
produces the report; `python -m reports monthly --date YYYY-MM-DD` does the same by hand.
On cron, not on the fpr_dq_issue asset: the daily DAG updates it every day, and Airflow offers
"asset or time" but not "asset and time" (docs/reports.md).
"""
from __future__ import annotations

import datetime as dt
import os

import pendulum
from airflow.sdk import Param, dag, task
from airflow.timetables.trigger import CronTriggerTimetable

from alerts.engineers import notify_engineers_on_failure


@dag(
    dag_id="fpr_monthly_review",
    description="防返贫动态监测：月研判（每月1日，按县）——近6个月趋势、问题最多的村和网格员、久拖未决问题",
    schedule=CronTriggerTimetable("0 9 1 * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    params={"run_date": Param(None, type=["null", "string"], format="date",
                              description="报告日期 YYYY-MM-DD；留空则按计划日期推算")},
    default_args={
        "owner": "data-platform",
        "retries": int(os.environ.get("FPR_TASK_RETRIES", "2")),
        "retry_delay": dt.timedelta(minutes=10),
        "on_failure_callback": notify_engineers_on_failure,
        "execution_timeout": dt.timedelta(hours=1),
    },
    tags=["fpr", "monthly", "report"],
    doc_md=__doc__,
)
def fpr_monthly_review():
    @task
    def report_day(params=None, dag_run=None) -> str:
        from reports.produce import report_day as resolve

        return resolve("monthly", params.get("run_date"), dag_run.logical_date or dag_run.run_after).isoformat()

    @task
    def produce(day: str):
        from reports.produce import produce_for_dag

        return produce_for_dag("monthly", day)

    produce(report_day())


fpr_monthly_review()
