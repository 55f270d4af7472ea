"""Pipeline-failure e-mails to the data engineers (separate from supervisors' digests)."""
from __future__ import annotations

import datetime as dt
import html
import logging
import os
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path

log = logging.getLogger(__name__)


def build_failure_message(dag_id: str, task_id: str, run_id: str, try_number, error: str,
                          sender, engineers) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"【数据平台故障】{dag_id}.{task_id} 运行失败（{run_id}）"
    msg["From"] = formataddr((sender.name, sender.email))
    msg["To"] = ", ".join(formataddr((e.name, e.email)) for e in engineers)
    msg["Message-ID"] = make_msgid(domain=sender.email.split("@")[-1])
    text = (f"任务 {dag_id}.{task_id} 在重试后仍然失败。\n运行：{run_id}\n尝试次数：{try_number}\n"
            f"错误：{error}\n\n请查看 Airflow 任务日志处理。")
    msg.set_content(text)
    msg.add_alternative(f"<pre>{html.escape(text)}</pre>", subtype="html")
    return msg


def notify_engineers_on_failure(context) -> None:
    """Airflow on_failure_callback: runs once a task has failed after its retries."""
    from expectations.alerts import delivery, masking, routing

    ti = context.get("task_instance") or context.get("ti")
    dag_id = getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    run_id = getattr(ti, "run_id", "?")
    error = masking.mask_text(str(context.get("exception") or "未知错误"))[:4000]
    route = routing.load_routing()
    msg = build_failure_message(dag_id, task_id, run_id, getattr(ti, "try_number", "?"), error,
                                route.sender, route.engineers or [route.fallback])
    outbox = Path(os.environ.get("OUTBOX_DIR", Path(__file__).resolve().parent.parent / "var" / "outbox"))
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    delivery.write_eml(msg, outbox, f"failure_{dag_id}_{task_id}_{stamp}")
    conn_id = os.environ.get("ALERT_SMTP_CONN_ID")
    if conn_id:
        try:
            delivery.send_smtp(msg, conn_id)
        except Exception:  # the .eml stays in the outbox; never hide the original failure
            log.exception("故障邮件发送失败，已保存在发件箱 %s", outbox)
