"""Daily monitoring pipeline: pull every source, build the marts, check, alert, report.

Wiring only: every step is a function in pipeline.steps (tested there). After the rules,
`followup` takes in returned checklists, runs deadlines and escalation and writes the day's
checklists, which the digests attach. dbt runs as one
`dbt build` (models, snapshots, tests) in the `transform` task; its lineage is in the dbt docs
the `dbt_docs` task publishes. Nothing upstream can silence the day: every later step runs
whatever happened before it (`all_done`), each works with what is there, and `close_day`
sends the engineers one report per run and fails the run when anything went wrong.
"""
from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import Asset, Param, dag, task
from airflow.timetables.trigger import CronTriggerTimetable

from core.settings import Settings
from pipeline import steps  # light: heavy imports happen inside each step
from pipeline.run_report import on_close_day_failure, record_task_failure

# Downstream DAGs (reports, exports) can schedule on the refreshed issue table.
ISSUES = Asset(name="fpr_dq_issue", uri="postgres://warehouse:5432/warehouse/dq/issue")
DAY_TASKS = ("run_date", *(s.name for s in steps.DAY))
ANYWAY = "all_done"   # run whatever happened upstream
OUTLETS = {"quality": [ISSUES]}


@dag(
    dag_id="fpr_daily_monitoring",
    description="防返贫动态监测：每日拉取平台与部门数据、构建集市、质量校验、发送预警",
    doc_md=__doc__,
    schedule=CronTriggerTimetable("0 6 * * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    params={"run_date": Param(None, type=["null", "string"], format="date",
                              description="运行日期 YYYY-MM-DD；留空则取本次运行的逻辑日期（北京时间）")},
    default_args={
        "owner": "data-platform",
        "retries": Settings.from_env(connection_id=None).task_retries,   # parse time: no look-up
        "retry_delay": dt.timedelta(minutes=5),
        "on_failure_callback": record_task_failure,
        "execution_timeout": dt.timedelta(hours=2),
    },
    tags=["fpr", "daily", "ingest", "dbt", "quality"],
)
def fpr_daily_monitoring():
    @task
    def run_date(params=None, dag_run=None) -> str:
        return steps.resolve_run_date(params.get("run_date"), dag_run.logical_date or dag_run.run_after)

    @task
    def day_step(name: str, day: str, ti=None):
        """One step of pipeline.steps.DAY, with the outcomes it takes from the steps before it."""
        step = steps.STEPS[name]
        outcomes = {up: ti.xcom_pull(task_ids=up) for _, up in step.inputs}
        return step.run(Settings.from_env(), dt.date.fromisoformat(day), outcomes)

    @task(trigger_rule=ANYWAY, retries=0, on_failure_callback=on_close_day_failure)
    def close_day(day: str, ti=None, dag_run=None):
        outcomes = {t: ti.xcom_pull(task_ids=t) for t in DAY_TASKS}
        states = ti.get_task_states(dag_id=dag_run.dag_id, run_ids=[dag_run.run_id]).get(dag_run.run_id, {})
        return steps.close_day(Settings.from_env(), dag_run.dag_id, dag_run.run_id, dt.date.fromisoformat(day),
                               outcomes, {t: str(states.get(t)) for t in DAY_TASKS})

    day = run_date()
    tasks = {}
    for step in steps.DAY:   # the day's order and edges come from pipeline.steps.DAY
        tasks[step.name] = day_step.override(
            task_id=step.name, trigger_rule=ANYWAY if step.after else "all_success",
            outlets=OUTLETS.get(step.name, []))(step.name, day)
        for up in step.after:
            tasks[up] >> tasks[step.name]
    downstream = {up for s in steps.DAY for up in s.after}
    [t for name, t in tasks.items() if name not in downstream] >> close_day(day)


fpr_daily_monitoring()
