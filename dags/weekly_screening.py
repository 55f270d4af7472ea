"""Weekly screening (周排查), Mondays 08:00 Asia/Shanghai, two hours after the daily run: per town an XLSX and an e-mail with the week's findings, the households to visit and the back-check draw. Logic: reports.weekly, reports.backcheck.

Wiring only: reports.produce rebuilds the report marts (they read the day's dq.issue) and
produces the report; `python -m reports weekly --date YYYY-MM-DD` does the same by hand.
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
    dag_id="fpr_weekly_screening",
    description="防返贫动态监测：周排查（每周一，按乡镇）——本周新发现、仍未解决、超期、已解决问题，入户核实与抽查名单",
    schedule=CronTriggerTimetable("0 8 * * 1", timezone="Asia/Shanghai"),
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
    tags=["fpr", "weekly", "report"],
    doc_md=__doc__,
)
def fpr_weekly_screening():
    @task
    def report_day(params=None, dag_run=None) -> str:
        from reports.produce import report_day as resolve

        return resolve("weekly", params.get("run_date"), dag_run.logical_date or dag_run.run_after).isoformat()

    @task
    def produce(day: str):
        from reports.produce import produce_for_dag

        return produce_for_dag("weekly", day)

    produce(report_day())


fpr_weekly_screening()
