"""Daily monitoring pipeline: pull every source, build the marts, check, alert.

Wiring only: every step is a function in pipeline.steps (tested there); dbt runs through
astronomer-cosmos, one task per model with its tests (`dbt build` per node).
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pendulum
from airflow.sdk import Asset, Param, dag, task
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


@dag(
    dag_id="fpr_daily_monitoring",
    description="防返贫动态监测：每日拉取平台与部门数据、构建集市、质量校验、发送预警",
    schedule=CronTriggerTimetable("0 6 * * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    params={"run_date": Param(None, type=["null", "string"], format="date",
                              description="运行日期 YYYY-MM-DD；留空则取本次运行的逻辑日期（北京时间）")},
    default_args={
        "owner": "data-platform",
        "retries": int(os.environ.get("FPR_TASK_RETRIES", "2")),
        "retry_delay": dt.timedelta(minutes=5),
        "on_failure_callback": notify_engineers_on_failure,
        "execution_timeout": dt.timedelta(hours=2),
    },
    tags=["fpr", "daily", "ingest", "dbt", "quality"],
)
def fpr_daily_monitoring():
    from pipeline import steps  # light: heavy imports happen inside each step

    @task
    def run_date(params=None, dag_run=None) -> str:
        return steps.resolve_run_date(params.get("run_date"), dag_run.logical_date or dag_run.run_after)

    @task
    def ingest_platform(day: str):
        return steps.ingest_platform(dt.date.fromisoformat(day))

    @task
    def ingest_feeds(day: str):
        return steps.ingest_feeds(dt.date.fromisoformat(day))

    # the ID-hash key goes into the warehouse (never into dbt's SQL): pipeline/pii.py
    @task
    def pii_key():
        from pipeline import pii
        return pii.install_hash_key_from_env()

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
        operator_args={"vars": {"run_date": "{{ ti.xcom_pull(task_ids='run_date') }}"}},
    )

    @task(outlets=[ISSUES])
    def quality(day: str):
        return steps.run_quality(dt.date.fromisoformat(day))

    @task
    def alerts(day: str):
        return steps.send_alerts(dt.date.fromisoformat(day))

    @task
    def bi_access():
        return steps.grant_bi_access()

    @task
    def dbt_docs(day: str):
        return steps.generate_dbt_docs(dt.date.fromisoformat(day))

    # runs whatever happened upstream: a source that failed to load still fails the day
    @task(trigger_rule="all_done")
    def check_ingest(day: str):
        return steps.check_ingest(dt.date.fromisoformat(day))

    day = run_date()
    loads = [ingest_platform(day), ingest_feeds(day)]
    checked = quality(day)
    [*loads, pii_key()] >> transform >> checked >> alerts(day) >> check_ingest(day)
    transform >> [bi_access(), dbt_docs(day)]


fpr_daily_monitoring()
