"""Daily monitoring pipeline: pull every source, build the marts, check, alert.

Wiring only: every step is a function in pipeline.steps (tested there); dbt runs through
astronomer-cosmos, one task per model with its tests (`dbt build` per node).
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pendulum
from airflow.sdk import Asset, dag, task
from airflow.timetables.trigger import CronTriggerTimetable

from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import InvocationMode, LoadMode, TestBehavior
from cosmos.profiles import PostgresUserPasswordProfileMapping
from pipeline.notify import notify_engineers_on_failure

REPO = Path(__file__).resolve().parent.parent
DBT_DIR = REPO / "dbt_project"
MANIFEST = DBT_DIR / "target" / "manifest.json"
# Downstream DAGs (reports, exports) can schedule on the refreshed issue table.
ISSUES = Asset(name="fpr_dq_issue", uri="postgres://warehouse:5432/warehouse/dq/issue")


def _run_date(logical_date=None, params=None) -> dt.date:
    """The run's date in Asia/Shanghai (or an explicit `run_date` param)."""
    if params and params.get("run_date"):
        return dt.date.fromisoformat(params["run_date"])
    return pendulum.instance(logical_date).in_timezone("Asia/Shanghai").date()


@dag(
    dag_id="fpr_daily_monitoring",
    description="防返贫动态监测：每日拉取平台与部门数据、构建集市、质量校验、发送预警",
    schedule=CronTriggerTimetable("0 6 * * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    params={"run_date": None},
    default_args={
        "owner": "data-platform",
        "retries": int(os.environ.get("FPR_TASK_RETRIES", "2")),
        "retry_delay": dt.timedelta(minutes=5),
        "on_failure_callback": notify_engineers_on_failure,
    },
    tags=["fpr", "daily", "ingest", "dbt", "quality"],
)
def fpr_daily_monitoring():
    @task
    def ingest_platform(logical_date=None, params=None):
        from pipeline import steps
        return steps.ingest_platform(_run_date(logical_date, params))

    @task
    def ingest_feeds(logical_date=None, params=None):
        from pipeline import steps
        return steps.ingest_feeds(_run_date(logical_date, params))

    transform = DbtTaskGroup(
        group_id="transform",
        project_config=ProjectConfig(DBT_DIR, manifest_path=MANIFEST if MANIFEST.exists() else None,
                                     install_dbt_deps=False),
        profile_config=ProfileConfig(
            profile_name="fpr_monitoring", target_name="default",
            profile_mapping=PostgresUserPasswordProfileMapping(
                conn_id="warehouse", profile_args={"schema": "public"})),
        execution_config=ExecutionConfig(invocation_mode=InvocationMode.DBT_RUNNER),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST if MANIFEST.exists() else LoadMode.AUTOMATIC,
            test_behavior=TestBehavior.BUILD,
            # a test over two models (relationships) runs once both are built
            should_detach_multiple_parents_tests=True),
        operator_args={
            "vars": {"run_date": "{{ params.run_date or logical_date.in_timezone('Asia/Shanghai').strftime('%Y-%m-%d') }}"},
        },
    )

    @task(outlets=[ISSUES])
    def quality(logical_date=None, params=None):
        from pipeline import steps
        return steps.run_quality(_run_date(logical_date, params))

    @task
    def alerts(logical_date=None, params=None):
        from pipeline import steps
        return steps.send_alerts(_run_date(logical_date, params))

    @task
    def bi_access():
        from pipeline import steps
        return steps.grant_bi_access()

    @task
    def dbt_docs(logical_date=None, params=None):
        from pipeline import steps
        return steps.generate_dbt_docs(_run_date(logical_date, params))

    [ingest_platform(), ingest_feeds()] >> transform >> quality() >> alerts()
    transform >> [bi_access(), dbt_docs()]


fpr_daily_monitoring()
