"""E-mails to the data engineers (separate from supervisors' digests).

The day's report (pipeline.run_report) is the normal route: one message per DAG run. A single
task's failure mail (`notify_engineers_on_failure`) is the fallback when that report cannot be
made. Messages go to the routing file's `engineers` (the fallback recipient if none), are
written to the outbox (OUTBOX_DIR) and, when ALERT_SMTP_CONN_ID names an Airflow SMTP
connection, sent through it. Nothing here raises: a broken mail setup must not hide the
failure it reports.
"""
from __future__ import annotations

import datetime as dt
import html
import logging
import re
import traceback
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from alerts.headers import checked_address, header_text

log = logging.getLogger(__name__)
MAX_ERROR_CHARS = 8000
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@")
_SECRET_KV = re.compile(r"(?i)\b(password|passwd|pwd|secret|token|client_secret|api_key)(\s*[=:]\s*)([^\s&,;'\"]+)")


def scrub(text: str) -> str:
    """Mask personal data and credentials in error text."""
    from alerts.masking import mask_text

    text = _URL_PASSWORD.sub(r"\1***@", text)
    text = _SECRET_KV.sub(r"\1\2***", text)
    return mask_text(text)


def _error_text(exc) -> str:
    if exc is None:
        return "未知错误（回调未收到异常信息）"
    if isinstance(exc, BaseException):
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return tb if len(tb) <= MAX_ERROR_CHARS else "……（前略）\n" + tb[-MAX_ERROR_CHARS:]
    return str(exc)[:MAX_ERROR_CHARS]


def failure_facts(context) -> dict:
    """What the e-mail says, read defensively from an Airflow (2 or 3) task context."""
    ti = context.get("task_instance") or context.get("ti")
    dag_run = context.get("dag_run")
    g = lambda obj, attr, default="?": (getattr(obj, attr, None) if obj is not None else None) or default  # noqa: E731
    exc = context.get("exception")
    try:
        log_url = ti.log_url if ti is not None else ""
    except Exception:   # log_url needs Airflow config; never let it stop the e-mail
        log_url = ""
    map_index = getattr(ti, "map_index", None)
    return {
        "dag_id": g(ti, "dag_id", g(context.get("dag"), "dag_id")),
        "task_id": g(ti, "task_id", g(context.get("task"), "task_id")),
        "run_id": g(ti, "run_id", context.get("run_id") or g(dag_run, "run_id")),
        "map_index": map_index if map_index is not None and map_index >= 0 else None,
        "try_number": g(ti, "try_number"),
        "max_tries": getattr(ti, "max_tries", None),
        "logical_date": str(context.get("logical_date") or g(dag_run, "logical_date", "")),
        "hostname": g(ti, "hostname", ""),
        "log_url": str(log_url or ""),
        "error_type": type(exc).__name__ if isinstance(exc, BaseException) else "",
        "error_message": scrub(str(exc))[:1000] if exc is not None else "未知错误",
        "error": scrub(_error_text(exc)),
    }


def new_message(subject: str, sender, engineers) -> EmailMessage:
    """An e-mail to the engineers with safe, single-line headers (alerts.headers)."""
    msg = EmailMessage()
    msg["Subject"] = header_text(subject, limit=250)
    msg["From"] = Address(display_name=header_text(sender.name, 80), addr_spec=checked_address(sender.email))
    msg["To"] = [Address(display_name=header_text(e.name, 80), addr_spec=checked_address(e.email))
                 for e in engineers]
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.email.split("@")[-1])
    return msg


def build_failure_message(facts: dict, sender, engineers) -> EmailMessage:
    f = facts
    task = f"{f['dag_id']}.{f['task_id']}" + (f"[{f['map_index']}]" if f["map_index"] is not None else "")
    msg = new_message(f"【数据平台故障】{task} 重试后仍失败（{f['run_id']}）", sender, engineers)
    msg["X-FPR-Failure"] = header_text(f"{f['dag_id']}.{f['task_id']}")
    tries = f"{f['try_number']}" + (f"（最多重试 {f['max_tries']} 次）" if f["max_tries"] is not None else "")
    lines = [("任务", task), ("运行", f["run_id"]), ("逻辑日期", f["logical_date"]), ("尝试次数", tries),
             ("主机", f["hostname"]), ("日志", f["log_url"]),
             ("错误", f"{f['error_type']}: {f['error_message']}" if f["error_type"] else f["error_message"])]
    text = (f"任务 {task} 在重试后仍然失败，需要数据工程师处理。\n\n"
            + "\n".join(f"{k}：{v}" for k, v in lines if v) + f"\n\n错误详情：\n{f['error']}\n\n"
            "请查看 Airflow 任务日志；修复后可在 Airflow 中清除该任务重跑。\n"
            "（本邮件只发给数据工程师，不发给督导人员；个人信息与口令已脱敏。）")
    msg.set_content(text)
    rows = "".join(f"<tr><th align=\"left\">{html.escape(k)}</th><td>"
                   + (f'<a href="{html.escape(v, quote=True)}">{html.escape(v)}</a>'
                      if k == "日志" and v.startswith(("http://", "https://")) else html.escape(str(v)))
                   + "</td></tr>" for k, v in lines if v)
    msg.add_alternative(
        f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"></head><body>
<h3>任务 {html.escape(task)} 在重试后仍然失败</h3>
<table border="1" cellspacing="0" cellpadding="4">{rows}</table>
<h4>错误详情</h4><pre style="white-space:pre-wrap">{html.escape(f['error'])}</pre>
<p style="color:#666">本邮件只发给数据工程师，不发给督导人员；个人信息与口令已脱敏。</p></body></html>""",
        subtype="html")
    return msg


def deliver_to_engineers(settings, msg: EmailMessage, name: str) -> dict:
    """Write the message to the outbox and, when Settings.smtp_conn_id is set, send it.
    Returns {'eml': path, 'status': 'outbox'|'smtp'|'smtp_failed'}; never raises for SMTP."""
    from alerts import delivery

    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S%f")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
    eml = delivery.write_eml(msg, settings.outbox_dir, f"{safe}_{stamp}")
    conn_id = settings.smtp_conn_id
    if not conn_id:
        log.warning("未配置 ALERT_SMTP_CONN_ID：工程师邮件只写入发件箱 %s", eml)
        return {"eml": str(eml), "status": "outbox"}
    try:
        delivery.send_smtp(msg, conn_id, settings.smtp_attempts, settings.smtp_backoff)
    except Exception:  # the .eml stays in the outbox; never hide the original failure
        log.exception("工程师邮件发送失败，已保存在发件箱 %s", eml)
        return {"eml": str(eml), "status": "smtp_failed"}
    log.info("邮件已发送给数据工程师：%s", msg["To"])
    return {"eml": str(eml), "status": "smtp"}


def notify_engineers_on_failure(context) -> dict:
    """A task's failure mailed on its own: the fallback when the day's report cannot be made
    (the warehouse is unreachable, or the report task itself failed). Never raises."""
    try:
        from alerts import routing
        from core.settings import Settings

        settings = Settings.from_env(connection_id=None)   # the warehouse may be what failed
        facts = failure_facts(context)
        route = routing.load_routing(settings.routing_file)
        msg = build_failure_message(facts, route.sender, route.engineers or [route.fallback])
        return deliver_to_engineers(settings, msg, f"failure_{facts['dag_id']}_{facts['task_id']}")
    except Exception:
        log.exception("故障通知回调本身出错（任务的原始错误见上方日志）")
        return {"eml": None, "status": "error"}
