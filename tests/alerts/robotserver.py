"""A local HTTP server on 127.0.0.1 that plays WeCom's group robot and DingTalk's custom robot:
it accepts only what each vendor documents and answers as they do.

WeCom   POST /cgi-bin/webhook/send?key=K   {"msgtype":"markdown","markdown":{"content":...}}
        content at most 4096 bytes; answers {"errcode":0,"errmsg":"ok"}.
DingTalk POST /robot/send?access_token=T&timestamp=ms&sign=S
        {"msgtype":"markdown","markdown":{"title":...,"text":...}}; with a secret, the timestamp
        must be within an hour and S = base64(HmacSHA256(secret, "ts\\nsecret")), else errcode
        310000 as DingTalk answers a bad signature.
Keys listed in `flaky` answer 503 once, then work; keys in `broken` answer errcode 93000.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

DINGTALK_TOKEN = "dt-token-0123456789"
DINGTALK_SECRET = "SEC0123456789abcdef-test-secret"
WECOM_KEY = "wecom-key-5a7d"
WECOM_FLAKY_KEY = "wecom-key-flaky"
WECOM_BROKEN_KEY = "wecom-key-broken"


@dataclass
class Post:
    vendor: str
    token: str
    body: dict


@dataclass
class RobotServer:
    base: str = ""
    accepted: list[Post] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)      # (vendor, why)
    flaky: set[str] = field(default_factory=lambda: {WECOM_FLAKY_KEY})
    broken: set[str] = field(default_factory=lambda: {WECOM_BROKEN_KEY})
    secrets: dict[str, str] = field(default_factory=lambda: {DINGTALK_TOKEN: DINGTALK_SECRET})
    lock: threading.Lock = field(default_factory=threading.Lock)

    def cards(self, vendor: str, token: str) -> list[dict]:
        return [p.body for p in self.accepted if p.vendor == vendor and p.token == token]


def _wecom_ok(body: dict) -> str | None:
    if set(body) != {"msgtype", "markdown"} or body["msgtype"] != "markdown":
        return "msgtype/markdown"
    md = body["markdown"]
    if set(md) != {"content"} or not isinstance(md["content"], str) or not md["content"]:
        return "markdown.content"
    if len(md["content"].encode()) > 4096:
        return "content over 4096 bytes"
    return None


def _dingtalk_ok(body: dict) -> str | None:
    if set(body) - {"at"} != {"msgtype", "markdown"} or body["msgtype"] != "markdown":
        return "msgtype/markdown"
    md = body["markdown"]
    if set(md) != {"title", "text"} or not all(isinstance(md[k], str) and md[k] for k in md):
        return "markdown.title/text"
    return None


def _signature_ok(query: dict, secret: str) -> bool:
    ts, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]
    if not ts.isdigit() or abs(time.time() * 1000 - int(ts)) > 3600 * 1000:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest())
    return hmac.compare_digest(expected.decode(), sign)


@pytest.fixture()
def robot_server():
    server = RobotServer()
    flaked: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):   # quiet
            pass

        def _answer(self, status: int, payload: dict | None = None):
            data = json.dumps(payload or {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            ctype = self.headers.get("Content-Type", "")
            vendor = {"/cgi-bin/webhook/send": "wecom", "/robot/send": "dingtalk"}.get(url.path)
            token = query.get("key" if vendor == "wecom" else "access_token", [""])[0]
            with server.lock:
                if vendor is None:
                    return self._answer(404)
                if token in server.flaky and token not in flaked:
                    flaked.add(token)
                    return self._answer(503)
                if not ctype.startswith("application/json"):
                    server.refused.append((vendor, "content type"))
                    return self._answer(200, {"errcode": 40035, "errmsg": "invalid content type"})
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    server.refused.append((vendor, "not json"))
                    return self._answer(200, {"errcode": 40035, "errmsg": "invalid json"})
                if token in server.broken:
                    server.refused.append((vendor, "broken key"))
                    return self._answer(200, {"errcode": 93000, "errmsg": "invalid webhook url"})
                if vendor == "dingtalk":
                    if token not in server.secrets:
                        server.refused.append((vendor, "token"))
                        return self._answer(200, {"errcode": 300001, "errmsg": "token is not exist"})
                    if not _signature_ok(query, server.secrets[token]):
                        server.refused.append((vendor, "sign"))
                        return self._answer(200, {"errcode": 310000, "errmsg": "sign not match"})
                why = (_wecom_ok if vendor == "wecom" else _dingtalk_ok)(body)
                if why:
                    server.refused.append((vendor, why))
                    return self._answer(200, {"errcode": 40035, "errmsg": f"invalid {why}"})
                server.accepted.append(Post(vendor, token, body))
            return self._answer(200, {"errcode": 0, "errmsg": "ok"})

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
