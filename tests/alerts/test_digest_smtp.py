"""Digests end to end: dq.issue in a real PostgreSQL -> send_digests -> a real SMTP server
(aiosmtpd with STARTTLS and login) through the Airflow SMTP connection `smtp_test`."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from alertdata import (
    COUNTY_SUP,
    ENGINEER,
    FALLBACK,
    FULL_VALUES,
    ISSUES,
    RUN_DATE,
    SMTP_USER,
    TOWN_SUP,
    decoded_parts,
    insert_issue,
)

from alerts.send import AlertDeliveryFailed, send_digests
from core.settings import Settings

COUNT = re.compile(r"未解决 (\d+) 条，新增 (\d+) 条，已解决 (\d+) 条")


def scope_counts(db, where: str, params=()) -> tuple[int, int, int, set, set]:
    """(open, new today, resolved today, open keys, resolved keys) straight from dq.issue."""
    rows = db.execute(f"select rule_id, entity_id, status, first_detected_on, resolved_on from dq.issue "
                      f"where {where}", params).fetchall()
    open_ = {(r, e) for r, e, s, f, _ in rows if s == "open"}
    new = {(r, e) for r, e, s, f, _ in rows if s == "open" and f == RUN_DATE}
    res = {(r, e) for r, e, s, _, ro in rows if s == "resolved" and ro == RUN_DATE}
    return len(open_), len(new), len(res), open_, res


def csv_rows(msg) -> list[dict]:
    att = [p for p in msg.iter_attachments() if p.get_content_type() == "text/csv"]
    assert len(att) == 1
    assert att[0].get_filename().endswith(".csv")
    return list(csv.DictReader(io.StringIO(att[0].get_payload(decode=True).decode("utf-8-sig"))))


def html_of(msg) -> str:
    return msg.get_body(("html",)).get_content()


def test_digests_routed_counted_masked_escaped(db, routing_file, smtp_server, tmp_path):
    result = send_digests(db, RUN_DATE, Settings.from_env(connection_id=None).replace(outbox_dir=tmp_path / "outbox", routing_file=routing_file))
    results = result["digests"]
    assert result["ok"] and result["failures"] == [] and result["cards"] == []

    # routing: one digest per recipient; engineers get nothing; every message over STARTTLS + login
    assert sorted(r for m in smtp_server.messages for r in m.rcpt_tos) == sorted([COUNTY_SUP, TOWN_SUP, FALLBACK])
    assert not smtp_server.to(ENGINEER)
    assert all(smtp_server.tls) and smtp_server.logins == [SMTP_USER] * 3
    assert {r["recipient"]: r["status"] for r in results} == {COUNTY_SUP: "smtp", TOWN_SUP: "smtp", FALLBACK: "smtp"}
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 3

    scopes = {COUNTY_SUP: ("county_code = %s", ("341225",)),
              TOWN_SUP: ("town_code = %s", ("341225101",)),
              FALLBACK: ("county_code is null or county_code <> %s", ("341225",))}
    for addr, (where, params) in scopes.items():
        (received,) = smtp_server.to(addr)
        msg = received.msg
        n_open, n_new, n_res, open_keys, res_keys = scope_counts(db, where, params)
        # subject counts match dq.issue
        assert "防返贫监测预警" in msg["Subject"]
        assert tuple(map(int, COUNT.search(msg["Subject"]).groups())) == (n_open, n_new, n_res), msg["Subject"]
        # the CSV parses and matches dq.issue for that recipient's regions
        rows = csv_rows(msg)
        assert {(r["规则编号"], r["对象编号"]) for r in rows if r["状态"] == "未解决"} == open_keys
        assert {(r["规则编号"], r["对象编号"]) for r in rows if r["状态"] == "已解决"} == res_keys
        assert sum(r["本期变化"] == "新增" for r in rows) == n_new
        # no full ID, disability or phone number anywhere: raw bytes and every decoded part
        blob = received.raw.decode("ascii", errors="replace") + "".join(t for _, t in decoded_parts(msg))
        for value in FULL_VALUES:
            assert value not in blob
        # inline chart referenced by the HTML
        html = html_of(msg)
        pngs = [p for p in msg.walk() if p.get_content_type() == "image/png"]
        assert len(pngs) == 1 and pngs[0].get_payload(decode=True)[:4] == b"\x89PNG"
        assert f'src="cid:{pngs[0]["Content-ID"].strip("<>")}"' in html
        # no link to one worker's disk (DATA_DOCS_BASE_URL is not set here)
        assert "file://" not in received.raw.decode("ascii", errors="replace") and "file://" not in html
        assert msg.get_body(("plain",)).get_content()                     # plain-text part

    county = smtp_server.to(COUNTY_SUP)[0].msg
    html, text = html_of(county), county.get_body(("plain",)).get_content()
    # HTML escaping holds for the planted <script>; the masked forms are shown
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "341225********1234" in html and "138****5678" in html and "341225********1234" in text
    # Chinese, with the rule's plain sentence, family totals, worst village / worker first, town names
    assert "入户走访没有定位" in html and "纸面排查" in html and "网格履职" in html
    assert html.index("东村") < html.index("西村")
    assert "张网格" in html and "已持续" in html
    # the town supervisor sees only the town; the fallback gets the unrouted county and the source issue
    town_rows = csv_rows(smtp_server.to(TOWN_SUP)[0].msg)
    assert {r["乡镇代码"] for r in town_rows} == {"341225101"}
    fb_rows = csv_rows(smtp_server.to(FALLBACK)[0].msg)
    assert {r["对象编号"] for r in fb_rows} == {"G900", "platform"}
    assert any(r["fallback"] for r in results if r["recipient"] == FALLBACK)


def test_same_run_twice_sends_once(db, routing_file, smtp_server, tmp_path):
    send_digests(db, RUN_DATE, Settings.from_env(connection_id=None).replace(outbox_dir=tmp_path / "outbox", routing_file=routing_file))
    assert len(smtp_server.messages) == 3
    again = send_digests(db, RUN_DATE, Settings.from_env(connection_id=None).replace(outbox_dir=tmp_path / "outbox", routing_file=routing_file))
    assert len(smtp_server.messages) == 3
    assert {r["status"] for r in again["digests"]} <= {"skipped", "unchanged"}
    assert db.execute("select count(*) from dq.alert_delivery").fetchone()[0] == 3


def test_since_last_digest_and_nothing_changed(db, routing_file, smtp_server, tmp_path):
    send_digests(db, RUN_DATE, Settings.from_env(connection_id=None).replace(outbox_dir=tmp_path / "outbox", routing_file=routing_file))
    day2 = RUN_DATE + dt.timedelta(days=1)
    # day 2: V002 (town 101) resolved, a new issue in town 102, nothing changes for the fallback
    db.execute("update dq.issue set status='resolved', resolved_on=%s where entity_id='V002'", (day2,))
    insert_issue(db, ("PAPER-03", "high", "visit", "V020", "341225", "341225102", "341225102201",
                      "定位离农户住房超过1公里", 0, "open", None), run_date=day2)
    db.commit()
    smtp_server.messages.clear()
    res = {r["recipient"]: r for r in send_digests(db, day2, Settings.from_env(connection_id=None).replace(outbox_dir=tmp_path / "outbox", routing_file=routing_file))["digests"]}
    assert res[FALLBACK]["status"] == "unchanged"
    assert (res[COUNTY_SUP]["new"], res[COUNTY_SUP]["resolved"]) == (1, 1)
    assert (res[TOWN_SUP]["new"], res[TOWN_SUP]["resolved"]) == (0, 1)
    town = smtp_server.to(TOWN_SUP)[0].msg
    assert "自上次摘要以来" in html_of(town)
    assert {(r["对象编号"], r["本期变化"]) for r in csv_rows(town) if r["本期变化"] != "仍未解决"} == {("V002", "已解决")}
    assert not smtp_server.to(FALLBACK)

    # day 3: nothing changed anywhere -> no mail; with always_send -> everyone gets one
    day3 = day2 + dt.timedelta(days=1)
    smtp_server.messages.clear()
    assert {r["status"] for r in send_digests(db, day3, Settings.from_env(connection_id=None).replace(outbox_dir=tmp_path / "outbox", routing_file=routing_file))["digests"]} == {"unchanged"}
    assert not smtp_server.messages
    routing_file.write_text(routing_file.read_text(encoding="utf-8").replace("always_send: false\nfallback",
                                                                           "always_send: true\nfallback"),
                            encoding="utf-8")
    send_digests(db, day3, Settings.from_env(connection_id=None).replace(outbox_dir=tmp_path / "outbox", routing_file=routing_file))
    assert sorted(r for m in smtp_server.messages for r in m.rcpt_tos) == sorted([COUNTY_SUP, FALLBACK])
    # the town entry says always_send: false for itself


def test_failed_send_is_retried_kept_and_reported(db, routing_file, smtp_server, tmp_path, monkeypatch):
    dead = smtp_server.port + 1 if smtp_server.port < 65000 else smtp_server.port - 1
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_TEST", f"smtp://u:p@127.0.0.1:{dead}?disable_ssl=true&disable_tls=true"
                                                 "&timeout=2&retry_limit=0")
    with pytest.raises(AlertDeliveryFailed, match="发件箱") as err:
        send_digests(db, RUN_DATE, Settings.from_env(connection_id=None).replace(outbox_dir=tmp_path / "outbox", routing_file=routing_file))
    assert not err.value.result["ok"] and len(err.value.result["failures"]) == 3
    assert {f["channel"] for f in err.value.result["failures"]} == {"email"}
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 3          # nothing lost
    assert db.execute("select count(*) from dq.alert_delivery").fetchone()[0] == 0
    assert db.execute("select count(*) from dq.alert_digest_state").fetchone()[0] == 0
    # the server is back (the task's retry): every digest goes out, once
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_TEST", f"smtp://{SMTP_USER}:s3cret-pw@127.0.0.1:{smtp_server.port}"
                                                 "?disable_ssl=true&ssl_context=none&timeout=10&retry_limit=0")
    results = send_digests(db, RUN_DATE, Settings.from_env(connection_id=None).replace(outbox_dir=tmp_path / "outbox", routing_file=routing_file))["digests"]
    assert {r["status"] for r in results} == {"smtp"} and len(smtp_server.messages) == 3


def test_outbox_is_the_default(db, routing_file, tmp_path, monkeypatch):
    monkeypatch.delenv("ALERT_SMTP_CONN_ID", raising=False)
    results = send_digests(db, RUN_DATE, Settings.from_env(connection_id=None).replace(outbox_dir=tmp_path / "outbox", routing_file=routing_file))["digests"]
    assert {r["status"] for r in results} == {"outbox"}
    emls = list((tmp_path / "outbox").glob("*.eml"))
    assert len(emls) == 3
    for p in emls:
        for value in FULL_VALUES:
            assert value.encode() not in p.read_bytes()
    assert len(ISSUES) == db.execute("select count(*) from dq.issue").fetchone()[0]
