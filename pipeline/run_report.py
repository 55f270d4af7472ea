"""The day's end: one report to the engineers per DAG run, whatever went wrong.

Tasks do not mail on failure: their on_failure_callback (`record_task_failure`) stores what
failed in `dq.task_failure`. The last task (`close_day`, runs whatever happened upstream)
gathers the day's problems: failed tasks, tasks that never ran, loads not yet repaired, dbt
nodes that failed, rules that could not run, digests that could not be delivered. It sends
one report per run (`dq.engineer_report` keeps it to one, also across retries and hosts) and
then fails the run, so "nothing is wrong" and "the pipeline died" never look alike.
"""
from __future__ import annotations

import datetime as dt
import html
import logging
from email.message import EmailMessage

from alerts import engineers as notify
from alerts.headers import header_text
from core.schema import ensure_schema

log = logging.getLogger(__name__)
DATA_PROBLEM = "数据未能装载"   # a delivery that could not be loaded: the data's problem, not the pipeline's


def record_task_failure(context) -> None:
    """on_failure_callback of every daily task: remember the failure for the day's report.
    If the warehouse cannot take it, mail this failure on its own (never lose it)."""
    from core import warehouse
    from core.settings import Settings

    facts = notify.failure_facts(context)
    try:
        settings = Settings.from_env()
        with warehouse.connect(settings.require_warehouse_url()) as conn:
            ensure_schema(conn, "dq")
            conn.execute(
                """insert into dq.task_failure (run_id, dag_id, task_id, try_number, hostname, error)
                   values (%s, %s, %s, %s, %s, %s) on conflict do nothing""",
                (facts["run_id"], facts["dag_id"], facts["task_id"],
                 int(facts["try_number"]) if str(facts["try_number"]).isdigit() else 0,
                 facts["hostname"], facts["error"]))
    except Exception:
        log.exception("无法把任务失败记入数仓，改为单独发送故障邮件")
        notify.notify_engineers_on_failure(context)   # it reads the settings again, on its own


def on_close_day_failure(context) -> None:
    """close_day's own on_failure_callback: it fails the run on purpose once the report is out,
    so only a close_day that could not make its report mails the failure on its own."""
    from core import warehouse
    from core.settings import Settings

    run_id = notify.failure_facts(context)["run_id"]
    try:
        with warehouse.connect(Settings.from_env().require_warehouse_url()) as conn:
            if warehouse.has_table(conn, "dq.engineer_report") and \
                    conn.execute("select 1 from dq.engineer_report where run_id = %s", (run_id,)).fetchone():
                return
    except Exception:
        log.exception("无法确认本次运行的报告是否已发送")
    notify.notify_engineers_on_failure(context)


def day_problems(conn, run_id: str, run_date: dt.date, outcomes: dict[str, dict | None],
                 states: dict[str, str] | None = None) -> list[str]:
    """Every problem of this run, first failure first, in Chinese. A task did not finish when
    its Airflow state is not success (or, without states, when it left no result)."""
    from pipeline.steps import unresolved_loads

    problems: list[str] = []
    failed = conn.execute(
        """select distinct on (task_id) task_id, error from dq.task_failure where run_id = %s
           order by task_id, try_number desc""", (run_id,)).fetchall()
    order = {t: i for i, t in enumerate(outcomes)}
    failed.sort(key=lambda r: order.get(r[0], len(order)))
    failed_ids = {t for t, _ in failed}
    for task_id, error in failed:
        last = [ln for ln in error.strip().splitlines() if ln.strip()][-1:] or ["（无错误信息）"]
        problems.append(f"任务 {task_id} 失败：{last[0][:500]}")
    for task_id, out in outcomes.items():
        state = (states or {}).get(task_id)
        unfinished = state not in ("success", "TaskInstanceState.SUCCESS") if states else out is None
        if unfinished and task_id not in failed_ids:
            problems.append(f"任务 {task_id} 没有运行完成（状态：{state or '无结果'}；上游失败或被跳过）")
    for source, origin, message in unresolved_loads(conn, run_date):
        problems.append(f"{DATA_PROBLEM}：{source} {origin}：{message}")
    dbt = outcomes.get("transform") or {}
    if dbt.get("error"):
        problems.append(f"dbt 未能运行：{dbt['error']}")
    if dbt.get("failed"):
        problems.append("dbt 构建失败的节点：" + "、".join(dbt["failed"]))
        for node, message in (dbt.get("messages") or {}).items():
            first = next((ln.strip() for ln in message.splitlines() if ln.strip()), "")
            if first:
                problems.append(f"  {node}：{first[:300]}")
    if dbt.get("skipped"):
        problems.append(f"因上游失败而跳过的 dbt 节点 {len(dbt['skipped'])} 个：" + "、".join(dbt["skipped"][:20]))
    for r in (outcomes.get("quality") or {}).get("not_run", []):
        problems.append(f"规则 {r['rule_id']} 今日未能运行：{r['reason']}")
    for f in (outcomes.get("alerts") or {}).get("failures", []):
        problems.append(f"预警未能送达（{f.get('channel')}）{f.get('target')}：{f.get('error', '')}")
    return [notify.scrub(p) for p in problems]


def build_report(dag_id: str, run_id: str, run_date: dt.date, problems: list[str],
                 first_error: str | None, sender, engineers) -> EmailMessage:
    msg = notify.new_message(f"【数据平台运行报告】{dag_id} {run_date} 有 {len(problems)} 项问题需要处理",
                             sender, engineers)
    msg["X-FPR-Run-Report"] = header_text(run_id)
    intro = (f"运行 {run_id}（运行日期 {run_date}）结束时有以下问题。其余数据、规则和督导摘要已照常处理；"
             "下列各项在修复并重跑前不会自动恢复。")
    detail = f"\n\n首个失败的错误详情：\n{first_error}" if first_error else ""
    msg.set_content(intro + "\n\n" + "\n".join(f"{i}. {p}" for i, p in enumerate(problems, 1)) + detail
                    + "\n\n（本邮件只发给数据工程师；个人信息与口令已脱敏。每次运行至多一封。）")
    items = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
    pre = (f"<h4>首个失败的错误详情</h4><pre style=\"white-space:pre-wrap\">{html.escape(first_error)}</pre>"
           if first_error else "")
    msg.add_alternative(
        f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"></head><body>
<p>{html.escape(intro)}</p><ol>{items}</ol>{pre}
<p style="color:#666">本邮件只发给数据工程师；个人信息与口令已脱敏。每次运行至多一封。</p></body></html>""",
        subtype="html")
    return msg


def close_day(settings, dag_id: str, run_id: str, run_date: dt.date, outcomes: dict[str, dict | None],
              states: dict[str, str] | None = None) -> str:
    """Report the run's problems once, then fail the run; 'ok' when there were none."""
    from psycopg.types.json import Jsonb

    from alerts import routing
    from core import warehouse

    with warehouse.connect(settings.require_warehouse_url()) as conn:
        ensure_schema(conn, "raw", "dq")   # a day whose loads never ran has no raw schema yet
        problems = day_problems(conn, run_id, run_date, outcomes, states)
        if not problems:
            return "ok"
        first = conn.execute("select error from dq.task_failure where run_id = %s "
                             "order by failed_at limit 1", (run_id,)).fetchone()
        route = routing.load_routing(settings.routing_file)
        msg = build_report(dag_id, run_id, run_date, problems, first[0] if first else None,
                           route.sender, route.engineers or [route.fallback])
        with conn.transaction():   # the claim stands only once the report is out
            claimed = conn.execute(
                """insert into dq.engineer_report (run_id, dag_id, run_date, subject, problems)
                   values (%s, %s, %s, %s, %s) on conflict (run_id) do nothing returning run_id""",
                (run_id, dag_id, run_date, msg["Subject"], Jsonb(problems))).fetchone()
            if claimed:
                notify.deliver_to_engineers(settings, msg, f"report_{dag_id}_{run_date:%Y%m%d}")
            else:
                log.info("本次运行的报告已发送过（%s），不再重复发送", run_id)
    raise RuntimeError("本次运行有问题（已汇总发给数据工程师）：\n" + "\n".join(problems))
