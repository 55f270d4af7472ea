"""Group robots: a short markdown card per digest to a WeCom (企业微信) group robot or a
DingTalk (钉钉) custom robot.

Payloads as the vendors document them: WeCom `{"msgtype": "markdown", "markdown": {"content"}}`
(content at most 4096 bytes), DingTalk `{"msgtype": "markdown", "markdown": {"title", "text"}}`,
signed when the robot has a secret: `timestamp` (ms) and `sign` = urlencode(base64(HmacSHA256(
key=secret, "timestamp\\nsecret"))) in the query string. Both allow 20 messages a minute per
robot (DingTalk then blocks the robot for 10 minutes), so every robot has its own limiter.

Why requests rather than the DingTalk Airflow provider (apache-airflow-providers-dingding
3.10.1, which works under Airflow 3): its DingdingHook cannot sign (it posts to
`robot/send?access_token=…` and nothing else, so a robot with 加签 security refuses every
message), logs the whole message at INFO, wants one Airflow connection per robot, and has no
WeCom counterpart.

A card holds counts and village names only (no household, person, worker or visit), and
its text still goes through mask_text. Webhook URLs and secrets come from environment
variables named in routing.yml and never appear in logs, results or errors.
"""
from __future__ import annotations

import base64
import collections
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import re
import threading
import time
import urllib.parse

import psycopg
import requests

from alerts import delivery
from alerts.collect import DigestData
from alerts.masking import mask_text
from alerts.routing import Robot

log = logging.getLogger(__name__)

PER_MINUTE = 20                 # both vendors: 20 messages a minute per robot
WECOM_MAX_BYTES = 4096
TOP_VILLAGES = 5
# errcodes that mean "later": WeCom 45009 (frequency limit), DingTalk 130101 (sending too fast),
# -1 (system busy) on both
TRANSIENT_ERRCODES = {45009, 130101, -1}
JSON_UTF8 = {"Content-Type": "application/json; charset=utf-8"}   # DingTalk asks for UTF-8 explicitly
_SECRET_QUERY = re.compile(r"((?:key|access_token|sign|timestamp)=)[^&\s'\"]+", re.IGNORECASE)


class RobotError(RuntimeError):
    """The card could not be delivered; the message never contains the URL or the secret."""


class RateLimiter:
    """At most `limit` calls in any `window` seconds: waits before the call that would exceed it."""

    def __init__(self, limit: int = PER_MINUTE, window: float = 60.0, clock=time.monotonic, sleep=time.sleep):
        self.limit, self.window, self.clock, self.sleep = limit, window, clock, sleep
        self.sent: collections.deque[float] = collections.deque()
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            while True:
                now = self.clock()
                while self.sent and now - self.sent[0] >= self.window:
                    self.sent.popleft()
                if len(self.sent) < self.limit:
                    self.sent.append(now)
                    return
                self.sleep(self.window - (now - self.sent[0]))


_limiters: dict[str, RateLimiter] = {}


def limiter_for(url: str) -> RateLimiter:
    """One limiter per robot (per webhook URL) for the whole process."""
    return _limiters.setdefault(hashlib.sha256(url.encode()).hexdigest(), RateLimiter())


# ---------------------------------------------------------------------------------- the card

def overdue_count(d: DigestData) -> int:
    """Findings past their due date at this recipient's level (followup/ deadlines)."""
    return len(d.overdue)


def claimed_fixed_count(d: DigestData) -> int:
    """已整改 by the checklist, still found by the data (整改不实)."""
    return len(d.fix_disputed)


def card(d: DigestData, docs_url: str | None = None) -> tuple[str, str]:
    """(title, markdown text) of one digest's card, masked. Village names only: no IDs."""
    since = "今日" if d.first_digest else "较上次"
    title = f"防返贫监测预警：{d.scope_label} {d.run_date:%m月%d日}"
    lines = [f"#### 防返贫监测预警｜{d.scope_label}", f"{d.run_date:%Y年%m月%d日}", "",
             f"- 未解决：**{len(d.open)}** 条（高风险 {d.high_open} 条）",
             f"- {since}新增：{len(d.new)} 条", f"- {since}已解决：{len(d.resolved)} 条"]
    lines.append(f"- 逾期未整改：{overdue_count(d)} 条")
    lines.append(f"- 整改不实（报已整改但仍存在）：{claimed_fixed_count(d)} 条")
    villages = [(name or "未命名村", n, h) for _, name, n, h in d.worst_villages(TOP_VILLAGES)]

    def text_with(k: int) -> str:
        body = list(lines)
        if villages[:k]:
            body += ["", "**问题最多的村**", ""]
            body += [f"{j}. {name}：{n} 条（高风险 {h} 条）" for j, (name, n, h) in enumerate(villages[:k], 1)]
        body += ["", "详细清单见预警摘要邮件。"] + ([f"[查看校验报告]({docs_url})"] if docs_url else [])
        return mask_text("\n".join(body))

    k = len(villages)
    while k and len(text_with(k).encode()) > WECOM_MAX_BYTES:   # WeCom's limit: fewer villages
        k -= 1
    return mask_text(title), text_with(k)


def card_hash(d: DigestData, key: str) -> str:
    """Send-once key of a card: its content without the (host-configured) link."""
    title, text = card(dataclasses.replace(d, docs_url=None))
    return hashlib.sha256(f"{key}\n{title}\n{text}".encode()).hexdigest()


# ---------------------------------------------------------------------------------- posting

def signed_url(url: str, secret: str, now_ms: int | None = None) -> str:
    """DingTalk 加签: timestamp in ms and its HmacSHA256 signature, base64, urlencoded."""
    ts = str(now_ms if now_ms is not None else int(time.time() * 1000))
    mac = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(mac).decode())
    return f"{url}{'&' if '?' in url else '?'}timestamp={ts}&sign={sign}"


def payload(kind: str, title: str, text: str) -> dict:
    if kind == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": text}}
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}


def _scrub(text: str, *secrets: str | None) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return _SECRET_QUERY.sub(r"\1***", text)


def _webhook(robot: Robot) -> tuple[str, str | None]:
    url = (os.environ.get(robot.webhook_env) or "").strip()
    if not url:
        raise RobotError(f"环境变量 {robot.webhook_env} 未设置（{robot.kind} 机器人地址）")
    if url.split(":", 1)[0].lower() not in ("http", "https"):
        raise RobotError(f"环境变量 {robot.webhook_env} 不是 http(s) 地址")
    secret = None
    if robot.secret_env:
        secret = os.environ.get(robot.secret_env) or None
        if not secret:
            raise RobotError(f"环境变量 {robot.secret_env} 未设置（钉钉机器人加签密钥）")
    return url, secret


def post(robot: Robot, title: str, text: str, *, attempts: int = 3, backoff: float = 5.0,
         timeout: float = 10.0) -> None:
    """Post one card; retried on connection errors, HTTP 429 / 5xx and the vendors' "too fast"
    or "busy" errcodes (Settings.robot_attempts, robot_backoff seconds growing, robot_timeout);
    any other refusal fails at once. Raises RobotError."""
    url, secret = _webhook(robot)
    body = json.dumps(payload(robot.kind, title, text), ensure_ascii=False).encode()
    limiter = limiter_for(url)
    last = ""
    for attempt in range(1, attempts + 1):
        limiter.wait()
        target = signed_url(url, secret) if secret else url    # a fresh timestamp every attempt
        transient = True
        try:
            resp = requests.post(target, data=body, timeout=timeout, headers=JSON_UTF8)
            if resp.status_code == 200:
                answer = resp.json()
                code = int(answer.get("errcode", -1))
                if code == 0:
                    return
                transient = code in TRANSIENT_ERRCODES
                last = f"errcode {code}：{answer.get('errmsg', '')}"
            else:
                transient = resp.status_code == 429 or resp.status_code >= 500
                last = f"HTTP {resp.status_code}"
        except (requests.RequestException, ValueError) as exc:   # ValueError: not JSON
            last = f"{type(exc).__name__}: {exc}"
        last = _scrub(last, url, secret, target)
        log.warning("%s 机器人消息发送失败（第 %s/%s 次）：%s", robot.label, attempt, attempts, last)
        if not transient or attempt == attempts:
            break
        time.sleep(backoff * attempt)
    raise RobotError(f"{robot.label} 机器人消息发送失败：{last}")


def deliver_card(conn: psycopg.Connection, robot: Robot, d: DigestData, *, key: str,
                 run_date: dt.date, settings) -> str:
    """'skipped' (this card was already posted, from whichever host) or 'sent'; RobotError."""
    digest = card_hash(d, key)
    with delivery.send_lock(conn, key, digest):
        if delivery.already_sent(conn, key, digest):
            return "skipped"
        title, text = card(d, d.docs_url)
        post(robot, title, text, attempts=settings.robot_attempts, backoff=settings.robot_backoff,
             timeout=settings.robot_timeout)
        delivery.record_sent(conn, key, digest, run_date, robot.kind, robot.label, title)
    return "sent"
