"""Issue 8 item 6 and issue 11 item 5: a line break in a region name, a bad address or an SMTP
refusal costs that one recipient, visibly; 12-digit region codes give names; the send-once key
and the Data Docs link do not depend on the host."""
from __future__ import annotations

import email
import email.policy
import logging
import re

import pytest
from alertdata import (
    COUNTY_SUP,
    FALLBACK,
    REFUSED_BY_SERVER,
    ROUTING,
    RUN_DATE,
    TOWN_SUP,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts import routing
from alerts.send import AlertDeliveryFailed, send_digests
from core.settings import Settings

BAD_ADDRESS = "乡镇负责人 <no address>"
ROUTING_WITH_BAD = ROUTING.replace('''engineers:''', f'''  "341225102":
    - {{name: 乙乡负责人, email: "{BAD_ADDRESS}"}}
    - {{name: "乙乡\\r\\n副职", email: {REFUSED_BY_SERVER}}}
engineers:''')


def test_line_break_bad_address_and_refusal_cost_only_that_recipient(db, routing_file, smtp_server, tmp_path,
                                                                       monkeypatch):
    db.execute("update marts.dim_region set region_name = %s where region_code = '341225'",
               ("阜南县\r\nBcc: evil@example.com",))
    db.execute("update marts.dim_region set region_name = %s where region_code = '341225101'", ("甲\n镇\u2028",))
    db.commit()
    routing_file.write_text(ROUTING_WITH_BAD, encoding="utf-8")

    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = records.append            # on the logger itself: whatever Airflow did to the root
    send_log = logging.getLogger("alerts.send")
    monkeypatch.setattr(send_log, "disabled", False)
    send_log.addHandler(handler)
    try:
        with pytest.raises(AlertDeliveryFailed) as err:
            send_digests(db, RUN_DATE, Settings.from_env(connection_id=None).replace(outbox_dir=tmp_path / "outbox", routing_file=routing_file))
    finally:
        send_log.removeHandler(handler)
    result = err.value.result
    logged = "\n".join(r.getMessage() for r in records)

    # everyone else got their digest, once, over the real SMTP server
    assert sorted(r for m in smtp_server.messages for r in m.rcpt_tos) == sorted([COUNTY_SUP, TOWN_SUP, FALLBACK])
    county = smtp_server.to(COUNTY_SUP)[0]
    assert b"\r\nBcc:" not in county.raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ")   # no injected header
    msg = county.msg
    assert msg["Bcc"] is None and "阜南县 Bcc: evil@example.com" in msg["Subject"]
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]
    assert "甲 镇" in smtp_server.to(TOWN_SUP)[0].msg["Subject"]

    # both failures are in the result (the DAG reads it) and in the log, once each
    assert result["ok"] is False
    by_target = {f["target"]: f for f in result["failures"]}
    assert set(by_target) == {BAD_ADDRESS, REFUSED_BY_SERVER}
    assert all(f["channel"] == "email" and f["towns"] == ["341225102"] for f in result["failures"])
    assert "邮箱地址无效" in by_target[BAD_ADDRESS]["error"]
    assert "550" in by_target[REFUSED_BY_SERVER]["error"]
    status = {r["recipient"]: r["status"] for r in result["digests"]}
    assert status == {COUNTY_SUP: "smtp", TOWN_SUP: "smtp", FALLBACK: "smtp", BAD_ADDRESS: "failed",
                      REFUSED_BY_SERVER: "failed"}
    for target in by_target:
        assert logged.count(f"预警摘要发送失败（{target}）") == 1, logged
    # a refused recipient is not retried (550 is permanent) and nothing failed was recorded as sent
    assert db.execute("select count(*) from dq.alert_delivery").fetchone()[0] == 3
    # the refused digest is kept in the outbox; the unbuildable one never was a message
    assert any(REFUSED_BY_SERVER.split("@")[0] in p.name for p in (tmp_path / "outbox").glob("*.eml"))


TWELVE_DIGIT_REGIONS = [("341225000000", "阜南县", "county"), ("341225101000", "甲镇", "town"),
                        ("341225102000", "乙乡", "town"), ("341225101201", "东村", "village"),
                        ("341225101202", "西村", "village"), ("341225102201", "南村", "village"),
                        ("341226000000", "邻县", "county")]


@pytest.mark.parametrize("with_level", [True, False])
def test_twelve_digit_region_codes_give_names(db, routing_file, tmp_path, monkeypatch, with_level):
    monkeypatch.delenv("ALERT_SMTP_CONN_ID", raising=False)
    db.execute("delete from marts.dim_region")
    db.cursor().executemany("insert into marts.dim_region values (%s, %s, %s)",
                            [(c, n, lvl if with_level else None) for c, n, lvl in TWELVE_DIGIT_REGIONS])
    db.commit()
    # the town written as its 12-digit code in the routing file too
    routing_file.write_text(ROUTING.replace('"341225101":', '"341225101000":'), encoding="utf-8")

    result = send_digests(db, RUN_DATE, Settings.from_env(connection_id=None).replace(outbox_dir=tmp_path / "outbox", routing_file=routing_file))
    subjects = {r["recipient"]: r["subject"] for r in result["digests"]}
    assert "阜南县" in subjects[COUNTY_SUP] and "341225 " not in subjects[COUNTY_SUP]
    assert "甲镇" in subjects[TOWN_SUP] and "341225101" not in subjects[TOWN_SUP]
    assert "邻县" in subjects[FALLBACK]
    assert next(r for r in result["digests"] if r["recipient"] == TOWN_SUP)["towns"] == ["341225101"]
    (eml,) = [p for p in (tmp_path / "outbox").glob("*.eml") if "town-341225101" in p.name]
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    csv_text = next(p for p in msg.iter_attachments()).get_payload(decode=True).decode("utf-8-sig")
    assert "甲镇" in csv_text and "东村" in csv_text


@pytest.mark.parametrize("code, key", [("341225", "341225"), ("341225000000", "341225"),
                                       ("341225101", "341225101"), ("341225101000", "341225101")])
def test_routing_keys_of_any_length(code, key, tmp_path):
    p = tmp_path / "r.yml"
    p.write_text(ROUTING.replace('"341225101":', '"341225109":').replace('"341225":', f'"{code}":'),
                 encoding="utf-8")
    assert key in routing.load_routing(p).regions


@pytest.mark.parametrize("text, message", [
    ('"341225101201":', "县或乡镇代码"),                        # a village cannot be routed
    ('"341225000000":\n    - {name: x, email: a@example.gov.cn}\n  "341225":', "同一地区"),
    ('"341225103":\n    wecom_webhook: https://qyapi.weixin.qq.com/x\n  "341225":', "不能直接写机器人地址"),
    ('"341225103":\n    wecom_webhook_env: "not a name"\n  "341225":', "环境变量名不合法"),
])
def test_routing_refuses_what_it_cannot_mean(text, message, tmp_path):
    p = tmp_path / "r.yml"
    p.write_text(ROUTING.replace('"341225":', text, 1), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        routing.load_routing(p)


def test_send_once_whichever_host_sends(db, routing_file, smtp_server, tmp_path, monkeypatch):
    """Host A sends; host B (its own outbox, its own GX site on its own disk, its own idea of the
    served URL) runs the same day and sends nothing: the record is dq.alert_delivery."""
    monkeypatch.setenv("DATA_DOCS_BASE_URL", "https://dq.example.gov.cn/data_docs/")
    a = send_digests(db, RUN_DATE, Settings.from_env(connection_id=None).replace(outbox_dir=tmp_path / "host-a", routing_file=routing_file))
    assert {r["status"] for r in a["digests"]} == {"smtp"} and len(smtp_server.messages) == 3
    for m in smtp_server.messages:
        html = m.msg.get_body(("html",)).get_content()
        assert 'href="https://dq.example.gov.cn/data_docs/index.html"' in html
        assert "file://" not in m.raw.decode("ascii", errors="replace")

    db.execute("""insert into dq.validation_run values ('r2', %s, 'rules__marts__fct_visit', 'PAPER-01', false, 1,
                   now(), now() + interval '1 minute', 'file:///home/worker-b/gx/data_docs/local_site/index.html')""",
               (RUN_DATE,))
    db.commit()
    monkeypatch.setenv("DATA_DOCS_BASE_URL", "http://10.0.0.2:8081/")
    b = send_digests(db, RUN_DATE, Settings.from_env(connection_id=None).replace(outbox_dir=tmp_path / "host-b", routing_file=routing_file))
    assert {r["status"] for r in b["digests"]} == {"skipped"}
    assert len(smtp_server.messages) == 3 and not list((tmp_path / "host-b").glob("*.eml"))
    assert db.execute("select count(*) from dq.alert_delivery").fetchone()[0] == 3


def test_no_served_docs_means_no_link(db, routing_file, tmp_path, monkeypatch):
    monkeypatch.delenv("ALERT_SMTP_CONN_ID", raising=False)
    monkeypatch.delenv("DATA_DOCS_BASE_URL", raising=False)
    send_digests(db, RUN_DATE, Settings.from_env(connection_id=None).replace(outbox_dir=tmp_path / "outbox", routing_file=routing_file))
    for p in (tmp_path / "outbox").glob("*.eml"):
        msg = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        html = msg.get_body(("html",)).get_content()
        assert not re.search(r"<a href=", html) and "file://" not in html
        assert "本次校验 1 条规则" in html


def test_two_hosts_at_once_send_each_digest_once(db, fresh_db_url, routing_file, smtp_server, tmp_path):
    """Two workers run the alert step at the same moment (their own connections and outboxes):
    the advisory lock per digest makes the second wait, find it sent, and skip."""
    import threading

    import psycopg

    from core.schema import ensure_schema

    ensure_schema(db, "dq")          # the tables exist from earlier days
    db.commit()
    results, errors = {}, []

    def host(name: str) -> None:
        try:
            with psycopg.connect(fresh_db_url, autocommit=True) as conn:   # as pipeline.steps connects
                results[name] = send_digests(conn, RUN_DATE, Settings.from_env(connection_id=None).replace(outbox_dir=tmp_path / name, routing_file=routing_file))
        except Exception as exc:  # noqa: BLE001  reported below
            errors.append(exc)

    threads = [threading.Thread(target=host, args=(n,)) for n in ("host-a", "host-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sorted(r for m in smtp_server.messages for r in m.rcpt_tos) == sorted([COUNTY_SUP, TOWN_SUP, FALLBACK])
    statuses = sorted(r["status"] for res in results.values() for r in res["digests"])
    assert statuses == ["skipped"] * 3 + ["smtp"] * 3


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_name_makes_one_valid_header(name):
    """Whatever a region or person name holds, the message keeps exactly its headers and the
    one recipient (built the way digest.build_message builds them)."""
    from email.headerregistry import Address
    from email.message import EmailMessage

    from alerts.headers import header_text

    subject = header_text(f"【防返贫监测预警】{name} 2026-11-28", limit=250)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["To"] = Address(display_name=header_text(name, 80), addr_spec="a@example.gov.cn")
    msg.set_content("x")
    parsed = email.message_from_bytes(bytes(msg), policy=email.policy.default)
    assert "\n" not in parsed["Subject"] and "\r" not in parsed["Subject"]
    # RFC 2047 encoded words may gain or lose a space at their edges; the text is the same
    assert parsed["Subject"].replace(" ", "") == subject.replace(" ", "")
    assert [a.addr_spec for a in parsed["To"].addresses] == ["a@example.gov.cn"]
    assert set(parsed.keys()) == {"Subject", "To", "Content-Type", "Content-Transfer-Encoding", "MIME-Version"}
