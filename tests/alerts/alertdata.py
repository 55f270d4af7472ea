"""Fixtures for the alert tests: a real PostgreSQL with dq.issue, a tiny marts.dim_region, a
routing file, and a real SMTP server (aiosmtpd, STARTTLS + login) on localhost."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

RUN_DATE = dt.date(2026, 11, 28)
SMTP_USER, SMTP_PASSWORD = "fpr-mailer", "s3cret-pw"
COUNTY_SUP = "county-341225@example.gov.cn"
TOWN_SUP = "town-341225101@example.gov.cn"
FALLBACK = "city-office@example.gov.cn"
ENGINEER = "oncall@example.gov.cn"
REFUSED_BY_SERVER = "no-such-mailbox@example.gov.cn"    # the SMTP server answers 550 for it

ROUTING = f"""
always_send: false
fallback: {{name: 市防返贫监测工作专班, email: {FALLBACK}}}
regions:
  "341225":
    - {{name: 县专班负责人, email: {COUNTY_SUP}}}
  "341225101":
    always_send: false
    recipients:
      - {{name: 甲镇负责人, email: {TOWN_SUP}}}
engineers:
  - {{name: 值班工程师, email: {ENGINEER}}}
sender: {{name: 防返贫动态监测数据平台, email: platform@example.gov.cn}}
"""

REGIONS = [("341225", "阜南县", "county"), ("341225101", "甲镇", "town"), ("341225102", "乙乡", "town"),
           ("341225101201", "东村", "village"), ("341225101202", "西村", "village"),
           ("341225102201", "南村", "village"), ("341226", "邻县", "county")]

PLANTED = ("入户走访（网格员 W001）：户主身份证 341225199001011234，残疾证 34122519900101123442，"
           "电话 13812345678 <script>alert(1)</script>")
FULL_VALUES = ["341225199001011234", "34122519900101123442", "13812345678"]

# rule, severity, entity_type, entity_id, county, town, village, detail, first, status, resolved_on
ISSUES = [
    ("PAPER-01", "high", "visit", "V001", "341225", "341225101", "341225101201", PLANTED, 0, "open", None),
    ("PAPER-02", "high", "visit", "V002", "341225", "341225101", "341225101201", "入户走访未上传照片", -12, "open", None),
    ("PAPER-02", "high", "visit", "V003", "341225", "341225101", "341225101202", "入户走访未上传照片", -3, "open", None),
    ("GRID-02", "medium", "grid_worker", "W001", "341225", "341225101", "341225101201", "网格员 W001 超过30天无走访", -40, "open", None),
    ("PAPER-05", "medium", "visit", "V010", "341225", "341225102", "341225102201", "走访不足3分钟", 0, "open", None),
    ("GRID-01", "high", "grid", "G900", "341226", "341226101", "341226101201", "网格没有在岗网格员", -1, "open", None),
    ("FRESH-01", "high", "source", "platform", None, None, None, "平台数据两天未成功加载", 0, "open", None),
    ("PAPER-02", "high", "visit", "V004", "341225", "341225101", "341225101201", "入户走访未上传照片", -5, "resolved", 0),
]


def insert_issue(conn, row, run_date=RUN_DATE):
    rule, sev, et, eid, county, town, village, detail, first, status, resolved = row
    conn.execute(
        """insert into dq.issue (rule_id, severity, entity_type, entity_id, county_code, town_code,
               village_code, detail, first_detected_on, last_detected_on, status, resolved_on)
           values (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)""",
        (rule, sev, et, eid, county, town, village, detail, run_date + dt.timedelta(days=first),
         run_date if status == "open" else run_date - dt.timedelta(days=1), status,
         None if resolved is None else run_date + dt.timedelta(days=resolved)))


@pytest.fixture()
def db(fresh_db_url):
    from core.schema import ensure_schema

    with psycopg.connect(fresh_db_url) as conn:
        ensure_schema(conn, "dq")
        conn.execute("create schema if not exists marts")
        conn.execute("create table marts.dim_region (region_code text primary key, region_name text, "
                     "region_level text)")
        conn.cursor().executemany("insert into marts.dim_region values (%s, %s, %s)", REGIONS)
        conn.execute("create table marts.dim_grid_worker (worker_id text primary key, worker_name text)")
        conn.execute("insert into marts.dim_grid_worker values ('W001', '张网格')")
        conn.execute("create table marts.fct_visit (visit_id text primary key, worker_id text)")
        conn.cursor().executemany("insert into marts.fct_visit values (%s, 'W001')", [("V001",), ("V002",)])
        for row in ISSUES:
            insert_issue(conn, row)
        conn.execute(
            """insert into dq.validation_run values ('r1', %s, 'rules__marts__fct_visit', 'PAPER-01', false, 1,
                   now(), now(), 'file:///srv/gx/data_docs/local_site/index.html')""", (RUN_DATE,))
        conn.commit()
        yield conn


@pytest.fixture()
def routing_file(tmp_path, monkeypatch) -> Path:
    p = tmp_path / "routing.yml"
    p.write_text(ROUTING, encoding="utf-8")
    monkeypatch.setenv("ALERT_ROUTING_FILE", str(p))
    return p


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tls_context(tmp: Path) -> ssl.SSLContext:
    """A self-signed certificate for localhost (cryptography ships with Airflow)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    return ctx


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def msg(self):
        return email.message_from_bytes(self.raw, policy=email.policy.default)


@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    tls: list[bool] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, addr: str) -> list[Received]:
        return [m for m in self.messages if addr in m.rcpt_tos]


@pytest.fixture()
def smtp_server(tmp_path, monkeypatch):
    """aiosmtpd requiring STARTTLS and login; Airflow connection smtp_test points at it."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    server = SmtpServer("127.0.0.1", _free_port())

    class Handler:
        async def handle_RCPT(self, srv, session, envelope, address, rcpt_options):
            if address.lower() == REFUSED_BY_SERVER:
                return "550 5.1.1 mailbox unavailable"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, srv, session, envelope):
            with server.lock:
                server.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
                server.tls.append(session.ssl is not None)
            return "250 OK"

    def auth(srv, session, envelope, mechanism, data):
        ok = data.login.decode() == SMTP_USER and data.password.decode() == SMTP_PASSWORD
        if ok:
            server.logins.append(data.login.decode())
        return AuthResult(success=ok)

    ctl = Controller(Handler(), hostname=server.host, port=server.port, tls_context=_tls_context(tmp_path),
                     require_starttls=True, authenticator=auth, auth_required=True)
    ctl.start()
    # STARTTLS stays on (no disable_tls); implicit SSL off; self-signed cert: ssl_context=none.
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_TEST", f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@{server.host}:{server.port}"
                                                 "?disable_ssl=true&ssl_context=none&timeout=10&retry_limit=0")
    monkeypatch.setenv("ALERT_SMTP_CONN_ID", "smtp_test")
    monkeypatch.setenv("ALERT_SMTP_ATTEMPTS", "2")
    monkeypatch.setenv("ALERT_SMTP_BACKOFF", "0")
    try:
        yield server
    finally:
        ctl.stop()


def decoded_parts(msg) -> list[tuple[str, str]]:
    """(content type, decoded text) of every non-multipart part; images as ''."""
    out = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        text = payload.decode("utf-8-sig", errors="replace") if part.get_content_maintype() == "text" else ""
        out.append((part.get_content_type(), text))
    return out
