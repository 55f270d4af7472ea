"""Issue 13 item 5: group-robot cards to WeCom and DingTalk (signed), checked by a local server
that accepts only each vendor's documented payload; failures reported like a failed e-mail."""
from __future__ import annotations

import re

import pytest
from alertdata import FULL_VALUES, ROUTING, RUN_DATE
from robotserver import (
    DINGTALK_SECRET,
    DINGTALK_TOKEN,
    WECOM_BROKEN_KEY,
    WECOM_FLAKY_KEY,
    WECOM_KEY,
)

from alerts import robots, routing
from alerts.collect import collect
from alerts.send import AlertDeliveryFailed, send_digests
from core.settings import Settings

ROUTING_ROBOTS = ROUTING.replace('''  "341225101":
    always_send: false
''', '''  "341225101":
    always_send: false
    wecom_webhook_env: FPR_TEST_WECOM_TOWN
    dingtalk_webhook_env: FPR_TEST_DINGTALK_TOWN
    dingtalk_secret_env: FPR_TEST_DINGTALK_SECRET
''').replace('''engineers:''', '''  "341225102000":
    wecom_webhook_env: FPR_TEST_WECOM_FLAKY
  "341226":
    wecom_webhook_env: FPR_TEST_WECOM_BROKEN
engineers:''')
ID_LIKE = re.compile(r"\d{17}[\dXx]|1[3-9]\d{9}")


@pytest.fixture()
def robot_env(robot_server, routing_file, monkeypatch):
    routing_file.write_text(ROUTING_ROBOTS, encoding="utf-8")
    monkeypatch.delenv("ALERT_SMTP_CONN_ID", raising=False)      # e-mails to the outbox here
    monkeypatch.setenv("ALERT_ROBOT_BACKOFF", "0")
    monkeypatch.setenv("FPR_TEST_WECOM_TOWN", f"{robot_server.base}/cgi-bin/webhook/send?key={WECOM_KEY}")
    monkeypatch.setenv("FPR_TEST_DINGTALK_TOWN", f"{robot_server.base}/robot/send?access_token={DINGTALK_TOKEN}")
    monkeypatch.setenv("FPR_TEST_DINGTALK_SECRET", DINGTALK_SECRET)
    monkeypatch.setenv("FPR_TEST_WECOM_FLAKY", f"{robot_server.base}/cgi-bin/webhook/send?key={WECOM_FLAKY_KEY}")
    monkeypatch.setenv("FPR_TEST_WECOM_BROKEN", f"{robot_server.base}/cgi-bin/webhook/send?key={WECOM_BROKEN_KEY}")
    return robot_server


def _town_counts(db, town: str) -> tuple[int, int]:
    return db.execute("select count(*), count(*) filter (where severity = 'high') from dq.issue "
                      "where status = 'open' and town_code = %s", (town,)).fetchone()


def test_cards_delivered_signed_pii_free_and_failure_reported(db, robot_env, routing_file, tmp_path):
    server = robot_env
    with pytest.raises(AlertDeliveryFailed) as err:
        send_digests(db, RUN_DATE, Settings.from_env(connection_id=None).replace(outbox_dir=tmp_path / "outbox", routing_file=routing_file))
    result = err.value.result

    # every e-mail went out; every card but the broken robot's went out (the flaky one after a retry)
    assert {r["status"] for r in result["digests"]} == {"outbox"}
    cards = {c["robot"]: c for c in result["cards"]}
    assert {k: c["status"] for k, c in cards.items()} == {
        "wecom:FPR_TEST_WECOM_TOWN": "sent", "dingtalk:FPR_TEST_DINGTALK_TOWN": "sent",
        "wecom:FPR_TEST_WECOM_FLAKY": "sent", "wecom:FPR_TEST_WECOM_BROKEN": "failed"}
    (failure,) = result["failures"]
    assert failure["channel"] == "wecom" and failure["target"] == "wecom:FPR_TEST_WECOM_BROKEN"
    assert "93000" in failure["error"] and WECOM_BROKEN_KEY not in failure["error"]
    assert WECOM_BROKEN_KEY not in str(err.value) and server.base not in str(err.value)
    assert server.refused == [("wecom", "broken key")]        # payloads and signature all valid

    (wecom,) = server.cards("wecom", WECOM_KEY)
    (ding,) = server.cards("dingtalk", DINGTALK_TOKEN)
    n_open, n_high = _town_counts(db, "341225101")
    for text in (wecom["markdown"]["content"], ding["markdown"]["text"]):
        assert f"未解决：**{n_open}** 条（高风险 {n_high} 条）" in text
        assert "甲镇" in text and "今日新增" in text and "已解决" in text
        assert text.index("东村") < text.index("西村")                  # worst village first
        assert "逾期未整改：0 条" in text and "整改不实（报已整改但仍存在）：0 条" in text
    assert "甲镇" in ding["markdown"]["title"]
    (flaky,) = server.cards("wecom", WECOM_FLAKY_KEY)
    assert "乙乡" in flaky["markdown"]["content"] and "南村" in flaky["markdown"]["content"]
    # no personal data: no ID or phone number, masked or not; no person, worker, visit or household
    for post in server.accepted:
        blob = str(post.body)
        assert not ID_LIKE.search(blob) and "****" not in blob
        for value in FULL_VALUES + ["张网格", "W001", "V001", "V002", "<script>"]:
            assert value not in blob


def test_cards_sent_once_and_permanent_errors_not_retried(db, robot_env, routing_file, tmp_path, monkeypatch):
    server = robot_env
    with pytest.raises(AlertDeliveryFailed):
        send_digests(db, RUN_DATE, Settings.from_env(connection_id=None).replace(outbox_dir=tmp_path / "outbox", routing_file=routing_file))
    accepted = len(server.accepted)
    assert accepted == 3
    # the task's retry (or another Celery host): what was posted is not posted again
    with pytest.raises(AlertDeliveryFailed) as err:
        send_digests(db, RUN_DATE, Settings.from_env(connection_id=None).replace(outbox_dir=tmp_path / "other-host", routing_file=routing_file))
    assert len(server.accepted) == accepted
    assert {c["robot"]: c["status"] for c in err.value.result["cards"]}["wecom:FPR_TEST_WECOM_TOWN"] == "skipped"
    assert [f["target"] for f in err.value.result["failures"]] == ["wecom:FPR_TEST_WECOM_BROKEN"]
    assert server.refused.count(("wecom", "broken key")) == 2    # refused for good: one try a run

    # a wrong signing secret: DingTalk's 310000, reported, not retried
    monkeypatch.setenv("ALERT_ROBOT_ATTEMPTS", "3")
    monkeypatch.setenv("FPR_TEST_DINGTALK_SECRET", "SEC-wrong")
    db.execute("delete from dq.alert_delivery where channel = 'dingtalk'")
    db.commit()
    with pytest.raises(AlertDeliveryFailed) as err:
        send_digests(db, RUN_DATE, Settings.from_env(connection_id=None).replace(outbox_dir=tmp_path / "outbox", routing_file=routing_file))
    failed = {f["target"]: f["error"] for f in err.value.result["failures"]}
    assert "310000" in failed["dingtalk:FPR_TEST_DINGTALK_TOWN"] and "SEC-wrong" not in str(failed)
    assert server.refused.count(("dingtalk", "sign")) == 1

    # a missing secret variable is a failure too, named by the variable, not a crash
    monkeypatch.delenv("FPR_TEST_DINGTALK_SECRET")
    with pytest.raises(AlertDeliveryFailed) as err:
        send_digests(db, RUN_DATE, Settings.from_env(connection_id=None).replace(outbox_dir=tmp_path / "outbox", routing_file=routing_file))
    assert any("FPR_TEST_DINGTALK_SECRET" in f["error"] for f in err.value.result["failures"])


def test_rate_limiter_never_exceeds_twenty_a_minute():
    now = [0.0]
    waits = []
    limiter = robots.RateLimiter(limit=20, window=60.0, clock=lambda: now[0],
                                 sleep=lambda s: (waits.append(s), now.__setitem__(0, now[0] + s)))
    sent = []
    for _ in range(45):
        limiter.wait()
        sent.append(now[0])
        now[0] += 0.5                      # a fast sender
    for i, t in enumerate(sent):
        assert sum(1 for u in sent if t <= u < t + 60.0) <= 20, i
    assert len(waits) == 2                 # it waited only when the 21st and 41st came


def test_card_counts_overdue_and_claimed_fixed(db, routing_file):
    """The card carries the follow-up's counts (followup/: deadlines, 整改不实)."""
    (d,) = [x for x in collect(db, RUN_DATE, routing.load_routing(routing_file))
            if x.audience.recipient.email.startswith("town-")]
    assert "逾期未整改：0 条" in robots.card(d)[1]
    ordered = sorted(d.open, key=lambda i: i["entity_id"])
    d.overdue, d.fix_disputed = ordered[:2], ordered[:1]
    _, text = robots.card(d)
    assert "逾期未整改：2 条" in text and "整改不实（报已整改但仍存在）：1 条" in text


def test_dingtalk_signature_as_documented():
    # DingTalk's documented recipe, computed independently of robots.signed_url
    import base64
    import hashlib
    import hmac
    import urllib.parse

    url = robots.signed_url("https://oapi.dingtalk.com/robot/send?access_token=T", "this is secret",
                            now_ms=1577262236757)
    mac = hmac.new(b"this is secret", b"1577262236757\nthis is secret", hashlib.sha256).digest()
    assert url == ("https://oapi.dingtalk.com/robot/send?access_token=T&timestamp=1577262236757&sign="
                   + urllib.parse.quote_plus(base64.b64encode(mac)))
