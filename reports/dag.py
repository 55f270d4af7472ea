"""One Airflow DAG per periodic report, all of the same shape: resolve the report's date, then
produce it (reports.produce). The DAG files in dags/ only name the kind, the cron and the text."""
from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import Param, dag, task
from airflow.timetables.trigger import CronTriggerTimetable

from alerts.engineers import notify_engineers_on_failure
from core.settings import Settings


def report_dag(kind: str, *, dag_id: str, cron: str, description: str, doc_md: str | None):
    @dag(
        dag_id=dag_id,
        description=description,
        schedule=CronTriggerTimetable(cron, timezone="Asia/Shanghai"),
        start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
        catchup=False,
        max_active_runs=1,
        params={"run_date": Param(None, type=["null", "string"], format="date",
                                  description="报告日期 YYYY-MM-DD；留空则按计划日期推算")},
        default_args={
            "owner": "data-platform",
            "retries": Settings.from_env(connection_id=None).task_retries,   # parse time: no look-up
            "retry_delay": dt.timedelta(minutes=10),
            "on_failure_callback": notify_engineers_on_failure,
            "execution_timeout": dt.timedelta(hours=1),
        },
        tags=["fpr", kind, "report"],
        doc_md=doc_md,
    )
    def report():
        @task
        def report_day(params=None, dag_run=None) -> str:
            from reports.produce import report_day as resolve

            return resolve(kind, params.get("run_date"), dag_run.logical_date or dag_run.run_after).isoformat()

        @task
        def produce(day: str):
            from reports.produce import produce_for_dag

            return produce_for_dag(kind, day)

        produce(report_day())

    return report()
