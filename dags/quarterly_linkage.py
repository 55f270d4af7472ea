"""Quarterly department linkage (季联动), on the first day of each quarter at 10:00 Asia/Shanghai for the quarter just ended: one XLSX sheet per department feed and an e-mail, from marts.rpt_dept_linkage_quarterly. Logic: reports.quarterly.

Wiring only: reports.produce rebuilds the report marts (they read the day's dq.issue) and
produces the report; `python -m reports quarterly --date YYYY-MM-DD` does the same by hand.
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
    dag_id="fpr_quarterly_linkage",
    description="防返贫动态监测：季联动（每季度首日）——各部门数据收到、匹配、信号、纳入监测与核实情况",
    schedule=CronTriggerTimetable("0 10 1 1,4,7,10 *", timezone="Asia/Shanghai"),
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
    tags=["fpr", "quarterly", "report"],
    doc_md=__doc__,
)
def fpr_quarterly_linkage():
    @task
    def report_day(params=None, dag_run=None) -> str:
        from reports.produce import report_day as resolve

        return resolve("quarterly", params.get("run_date"), dag_run.logical_date or dag_run.run_after).isoformat()

    @task
    def produce(day: str):
        from reports.produce import produce_for_dag

        return produce_for_dag("quarterly", day)

    produce(report_day())


fpr_quarterly_linkage()
