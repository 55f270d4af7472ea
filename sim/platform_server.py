"""Simulator of the provincial monitoring platform API v1 (CONTRACT.md section 1).

Serves `<data_dir>/platform/<resource>.jsonl` over HTTP on 127.0.0.1 with OAuth client
credentials, cursor paging, a controllable clock, live data changes and seeded fault
injection (429, 5xx, dropped connections, overlapping pages).

    with start_simulator(Path("var/sim"), rate_429=0.1, seed=1) as sim:
        sim.url            # http://127.0.0.1:<port>
        sim.upsert("households", {...})   # bumps updated_at to the simulator's now
        sim.revoke_tokens()

    python -m sim.platform_server --data-dir var/sim --port 8765 \
        --client-id demo --client-secret demo-secret [--rate-429 0.1 ...]
"""
from __future__ import annotations

import argparse
import base64
import binascii
import bisect
import datetime as dt
import ipaddress
import json
import logging
import math
import random
import secrets
import signal
import threading
import time
from dataclasses import dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger("sim.platform")

CST = dt.timezone(dt.timedelta(hours=8))

# The platform's own notion of each resource's key (kept apart from ingest on purpose:
# the simulator stands in for an outside system).
KEYS: dict[str, tuple[str, ...]] = {
    "regions": ("code",),
    "households": ("household_id",),
    "persons": ("person_id",),
    "monitoring_cases": ("case_id",),
    "incomes": ("household_id", "year"),
    "guarantees": ("household_id",),
    "assistance_measures": ("measure_id",),
    "grids": ("grid_id",),
    "grid_workers": ("worker_id",),
    "visits": ("visit_id",),
    "alerts": ("alert_id",),
}

API = "/api/v1"
MAX_PAGE = 1000


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    for candidate in (text, text.replace(" ", "+")):  # '+' decoded as space in a query
        try:
            t = dt.datetime.fromisoformat(candidate)
        except ValueError:
            continue
        return t if t.tzinfo else t.replace(tzinfo=CST)
    return None


def _fmt_time(t: dt.datetime) -> str:
    return t.astimezone(CST).isoformat()


def _record_key(resource: str, record: Any) -> str | None:
    if not isinstance(record, dict):
        return None
    parts = [record.get(k) for k in KEYS[resource]]
    if any(p is None or p == "" for p in parts):
        return None
    return ":".join(str(p) for p in parts)


@dataclass
class Faults:
    """Fault injection; probabilities per request, drawn from one seeded RNG."""
    rate_429: float = 0.0
    rate_5xx: float = 0.0          # split evenly over 500/502/503/504
    rate_drop: float = 0.0         # close the socket (before or in the middle of a response)
    rate_overlap: float = 0.0      # next_cursor re-serves the second half of the page
    retry_after: int = 1           # seconds sent with 429
    fail_first_n: int = 0          # the first n listing requests fail with fail_status
    fail_after_n: int | None = None  # every listing request after the n-th fails
    fail_status: int | str = 503   # an HTTP status or "drop"
    hide_newest: int = 0           # the newest n matching records are counted in `total` but
                                   # never served (a replica lagging behind its count)
    hide_pulls: int | None = None  # ... in the first n pulls (page-1 requests); None: every pull
    seed: int = 0


class _Packed(bytes):
    """A record loaded from a data file, kept as its UTF-8 JSON text (a fraction of a dict's
    memory: a city's platform fits) and decoded when served or read."""


def _unpack(record: Any) -> Any:
    return json.loads(record) if isinstance(record, _Packed) else record


@dataclass(order=True)
class _Entry:
    ts: dt.datetime
    rid: str
    record: Any = field(compare=False)
    encoded: bytes | None = field(default=None, compare=False)   # the record as served

    def json(self) -> bytes:
        if self.encoded is None:   # not encodable when stored: fails here, as it is served
            self.encoded = json.dumps(self.record, ensure_ascii=False).encode()
        return self.encoded


def _encoded(record: Any) -> bytes | None:
    """The record's JSON, made when it is stored (as a platform keeps its records), or None."""
    try:
        return json.dumps(record, ensure_ascii=False).encode()
    except (TypeError, ValueError, RecursionError, UnicodeEncodeError):
        return None


class PlatformState:
    """Data, clock, tokens and faults; thread-safe, shared by all request handlers."""

    def __init__(self, data_dir: Path | None, client_id: str, client_secret: str,
                 token_ttl: float = 3600, now: dt.datetime | str | None = None,
                 forbidden: tuple[str, ...] = (), faults: Faults | None = None):
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.forbidden = set(forbidden)
        self.faults = faults or Faults()
        self.rng = random.Random(self.faults.seed)
        self.lock = threading.RLock()
        self._now = _parse_time(now) if isinstance(now, str) else now
        self._tokens: dict[str, float] = {}
        self._entries: dict[str, dict[str, _Entry]] = {r: {} for r in KEYS}
        self._sorted: dict[str, list[_Entry] | None] = {r: None for r in KEYS}
        self._anon = 0
        self.listing_requests = 0
        self.pulls = 0                  # listing requests without a cursor (a pull's page 1)
        self.stats: dict[str, int] = {}
        self.data_dir = Path(data_dir) if data_dir is not None else None
        if self.data_dir is not None:
            self._load(self.data_dir)

    # -- data -------------------------------------------------------------------------
    def _load(self, data_dir: Path) -> None:
        loaded_at = self.now()
        for resource in KEYS:
            path = data_dir / "platform" / f"{resource}.jsonl"
            if not path.exists():
                continue
            with path.open(encoding="utf-8") as fh:
                for line_no, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ValueError(f"{path}:{line_no}: not JSON: {exc}") from None
                    self._put(resource, record, loaded_at)
            self._sorted_entries(resource)   # sorted once at start, not on the first request
            log.info("loaded %d %s", len(self._entries[resource]), resource)

    def reload(self) -> None:
        """Re-read the data files (e.g. after the generator wrote another day); replaces all data."""
        if self.data_dir is None:
            return
        with self.lock:
            self._entries = {r: {} for r in KEYS}
            self._sorted = {r: None for r in KEYS}
            self._load(self.data_dir)

    def _put(self, resource: str, record: Any, fallback_ts: dt.datetime) -> None:
        rid = _record_key(resource, record)
        if rid is None:  # malformed item: still served, so clients can be tested on it
            self._anon += 1
            rid = f"~anon{self._anon:08d}"
        ts = (_parse_time(record.get("updated_at")) if isinstance(record, dict) else None) \
            or fallback_ts
        encoded = _encoded(record)
        if encoded is not None and isinstance(record, dict):
            # kept only as its JSON text (a dict costs several times that: a city's platform fits)
            encoded = _Packed(encoded)
            record = encoded
        self._entries[resource][rid] = _Entry(ts, rid, record, encoded)
        self._sorted[resource] = None

    def _sorted_entries(self, resource: str) -> list[_Entry]:
        entries = self._sorted[resource]
        if entries is None:
            entries = self._sorted[resource] = sorted(self._entries[resource].values(),
                                                      key=lambda e: (e.ts, e.rid))  # = _Entry order
        return entries

    def upsert(self, resource: str, record: Any, *, touch: bool = True) -> Any:
        """Insert or replace a record; touch=True stamps updated_at with the clock's now."""
        self._check_resource(resource)
        with self.lock:
            if isinstance(record, dict):
                record = dict(record)
                if touch:
                    record["updated_at"] = _fmt_time(self.now())
                record.setdefault("is_deleted", False)
            self._put(resource, record, self.now())
            return record

    def delete(self, resource: str, key: str) -> dict:
        """Soft-delete: the record comes back as a tombstone with a new updated_at."""
        with self.lock:
            record = dict(self.get(resource, key))
            record["is_deleted"] = True
            return self.upsert(resource, record)

    def get(self, resource: str, key: str) -> Any:
        self._check_resource(resource)
        with self.lock:
            return _unpack(self._entries[resource][key].record)

    def records(self, resource: str) -> list[Any]:
        """Current records in serving order."""
        with self.lock:
            return [_unpack(e.record) for e in self._sorted_entries(resource)]

    @staticmethod
    def _check_resource(resource: str) -> None:
        if resource not in KEYS:
            raise KeyError(f"unknown resource {resource!r}")

    # -- clock and tokens -------------------------------------------------------------
    def now(self) -> dt.datetime:
        return self._now if self._now is not None else dt.datetime.now(CST)

    def set_now(self, value: dt.datetime | str | None) -> None:
        """Fix the clock (None: back to real time)."""
        self._now = _parse_time(value) if isinstance(value, str) else value

    def advance(self, **delta: float) -> dt.datetime:
        self._now = self.now() + dt.timedelta(**delta)
        return self._now

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(24)
        with self.lock:
            self._tokens[token] = time.monotonic() + self.token_ttl
            self.count("tokens_issued")
        return token

    def token_valid(self, token: str | None) -> bool:
        with self.lock:
            expiry = self._tokens.get(token or "")
            return expiry is not None and time.monotonic() < expiry

    def revoke_tokens(self) -> None:
        with self.lock:
            self._tokens.clear()

    # -- faults -----------------------------------------------------------------------
    def count(self, name: str) -> None:
        with self.lock:
            self.stats[name] = self.stats.get(name, 0) + 1

    def draw_fault(self, listing: bool) -> int | str | None:
        """Return an HTTP status or 'drop' to inject, or None."""
        f = self.faults
        with self.lock:
            if listing:
                self.listing_requests += 1
                n = self.listing_requests
                if n <= f.fail_first_n or (f.fail_after_n is not None and n > f.fail_after_n):
                    return f.fail_status
            x = self.rng.random()
            if x < f.rate_429:
                return 429
            x -= f.rate_429
            if x < f.rate_5xx:
                return self.rng.choice((500, 502, 503, 504))
            x -= f.rate_5xx
            if x < f.rate_drop:
                return "drop"
            return None

    def overlap(self) -> bool:
        with self.lock:
            return self.faults.rate_overlap > 0 and self.rng.random() < self.faults.rate_overlap

    # -- listing ----------------------------------------------------------------------
    def list_page(self, resource: str, since: dt.datetime | None, page_size: int,
                  after: tuple[dt.datetime, str] | None) -> dict:
        body, page = self._list_page(resource, since, page_size, after)
        return {"items": [_unpack(e.record) for e in page], **body}

    def list_page_json(self, resource: str, since: dt.datetime | None, page_size: int,
                       after: tuple[dt.datetime, str] | None) -> bytes:
        """list_page as the response body: the same bytes as json.dumps(list_page(...)), each
        record encoded once and reused by every page that serves it again."""
        body, page = self._list_page(resource, since, page_size, after)
        rest = json.dumps(body, ensure_ascii=False).encode()
        return b"".join((b'{"items": [', b", ".join([e.json() for e in page]), b"], ", rest[1:]))

    def _list_page(self, resource, since, page_size, after) -> tuple[dict, list[_Entry]]:
        with self.lock:
            entries = self._sorted_entries(resource)
            start = 0 if since is None else bisect.bisect_left(entries, _Entry(since, "", None))
            total = len(entries) - start
            if after is None:
                self.pulls += 1
            f = self.faults
            if f.hide_newest and (f.hide_pulls is None or self.pulls <= f.hide_pulls):
                entries = entries[:max(start, len(entries) - f.hide_newest)]
                self.count("hidden_pages")
            pos = start if after is None else max(
                start, bisect.bisect_right(entries, _Entry(after[0], after[1], None)))
            page = entries[pos:pos + page_size]
            more = pos + len(page) < len(entries)
            last = page[-1] if page else None
            if more and len(page) >= 2 and self.overlap():
                last = page[len(page) // 2 - 1]  # unstable cursor: half the page comes again
                self.count("overlaps")
            return {
                "next_cursor": _encode_cursor(resource, last) if more and last else None,
                "total": total,
                # truncated to the second: rounding down keeps the watermark safe
                "server_time": _fmt_time(self.now().replace(microsecond=0)),
            }, page


def _encode_cursor(resource: str, entry: _Entry) -> str:
    raw = json.dumps([resource, entry.ts.isoformat(), entry.rid], ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(resource: str, cursor: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        res, ts, rid = json.loads(raw)
        parsed = _parse_time(ts)
    except (binascii.Error, ValueError, TypeError):
        raise ValueError("invalid cursor") from None
    if res != resource or parsed is None or not isinstance(rid, str):
        raise ValueError("invalid cursor")
    return parsed, rid


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real API gateway
    server_version = "PlatformSim/1"
    timeout = 60
    disable_nagle_algorithm = True  # else headers and body in two sends cost ~40 ms each
    wbufsize = 1 << 16              # one write per response; flushed after each request

    @property
    def state(self) -> PlatformState:
        return self.server.state  # type: ignore[attr-defined]

    def log_message(self, fmt, *args):  # route to logging, not stderr
        log.debug("%s " + fmt, self.address_string(), *args)

    # -- responses --------------------------------------------------------------------
    def _send(self, status: int, body: dict | bytes, headers: dict | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.state.count(f"status_{status}")

    def _error(self, status: int, error: str, message: str, headers: dict | None = None):
        self._send(status, {"error": error, "message": message}, headers)

    def _drop(self, body: dict | None) -> None:
        """Close the connection: before any response, or after half a response body."""
        self.state.count("drops")
        self.close_connection = True
        with self.state.lock:
            mid_body = self.state.rng.random() < 0.5
        if body is not None and mid_body:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
        try:
            self.connection.shutdown(2)
        except OSError:
            pass

    def _inject(self, listing: bool) -> bool:
        fault = self.state.draw_fault(listing)
        if fault is None:
            return False
        if fault == "drop":
            self._drop({"items": [], "padding": "x" * 64})
        elif fault == 429:
            self._error(429, "too_many_requests", "rate limited",
                        {"Retry-After": str(self.state.faults.retry_after)})
        else:
            self._error(int(fault), "server_error", "injected failure")
        return True

    # -- routes -----------------------------------------------------------------------
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        path = urlsplit(self.path).path
        if path != f"{API}/oauth/token":
            return self._error(404, "not_found", f"no such endpoint: {path}")
        if self._inject(listing=False):
            return
        form = {k: v[0] for k, v in parse_qs(body).items()}
        if form.get("grant_type") != "client_credentials":
            return self._error(400, "unsupported_grant_type", "grant_type must be client_credentials")
        if (form.get("client_id") != self.state.client_id
                or form.get("client_secret") != self.state.client_secret):
            return self._error(401, "invalid_client", "client authentication failed")
        self._send(200, {"access_token": self.state.issue_token(), "token_type": "Bearer",
                         "expires_in": max(1, math.ceil(self.state.token_ttl))})

    def do_GET(self):
        parts = urlsplit(self.path)
        if not parts.path.startswith(API + "/"):
            return self._error(404, "not_found", f"no such endpoint: {parts.path}")
        resource = parts.path[len(API) + 1:].strip("/")
        auth = self.headers.get("Authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        if not self.state.token_valid(token):
            return self._error(401, "invalid_token", "missing, expired or revoked token",
                               {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if resource not in KEYS:
            return self._error(404, "not_found", f"unknown resource: {resource}")
        if resource in self.state.forbidden:
            return self._error(403, "forbidden", f"client may not read {resource}")
        if self._inject(listing=True):
            return
        query = parse_qs(parts.query, keep_blank_values=True)
        try:
            since, page_size, after = self._params(resource, query)
        except ValueError as exc:
            return self._error(400, "invalid_parameter", str(exc))
        self._send(200, self.state.list_page_json(resource, since, page_size, after))

    @staticmethod
    def _params(resource: str, query: dict[str, list[str]]):
        unknown = set(query) - {"updated_since", "page_size", "cursor"}
        if unknown:
            raise ValueError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
        since = None
        if query.get("updated_since", [""])[0]:
            since = _parse_time(query["updated_since"][0])
            if since is None:
                raise ValueError("updated_since must be an ISO 8601 time")
        raw_size = query.get("page_size", ["100"])[0]
        if not raw_size.isdigit() or not 1 <= int(raw_size) <= MAX_PAGE:
            raise ValueError(f"page_size must be an integer in 1..{MAX_PAGE}")
        cursor = query.get("cursor", [""])[0]
        after = _decode_cursor(resource, cursor) if cursor else None
        return since, int(raw_size), after


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, state: PlatformState):
        super().__init__(addr, _Handler)
        self.state = state


class SimulatorHandle:
    """A running simulator: `.url`, `.state`, `.stop()`, and shortcuts to the state."""

    def __init__(self, server: _Server):
        self._server = server
        self.state = server.state
        host, port = server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=server.serve_forever, name="platform-sim",
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    # shortcuts used by tests and the demo driver
    def upsert(self, resource: str, record: Any, *, touch: bool = True) -> Any:
        return self.state.upsert(resource, record, touch=touch)

    def delete(self, resource: str, key: str) -> dict:
        return self.state.delete(resource, key)

    def revoke_tokens(self) -> None:
        self.state.revoke_tokens()

    def reload(self) -> None:
        self.state.reload()

    def set_now(self, value: dt.datetime | str | None) -> None:
        self.state.set_now(value)

    def set_faults(self, **changes: Any) -> None:
        for k, v in changes.items():
            if not hasattr(self.state.faults, k):
                raise TypeError(f"unknown fault setting {k!r}")
            setattr(self.state.faults, k, v)

    @property
    def stats(self) -> dict[str, int]:
        return dict(self.state.stats)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "SimulatorHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _check_loopback(host: str) -> None:
    ok = host == "localhost"
    try:
        ok = ok or ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if not ok:
        raise ValueError(f"the simulator binds to loopback only, not {host!r}")


_FAULT_NAMES = {f.name for f in fields(Faults)}


def start_simulator(data_dir: Path | None, host: str = "127.0.0.1", port: int = 0,
                    client_id: str = "demo", client_secret: str = "demo-secret",
                    token_ttl: float = 3600, now: dt.datetime | str | None = None,
                    forbidden: tuple[str, ...] = (), **faults: Any) -> SimulatorHandle:
    """Start the simulator in a background thread; faults are `Faults` fields."""
    _check_loopback(host)
    unknown = set(faults) - _FAULT_NAMES
    if unknown:
        raise TypeError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
    state = PlatformState(data_dir, client_id, client_secret, token_ttl=token_ttl, now=now,
                          forbidden=tuple(forbidden), faults=Faults(**faults))
    return SimulatorHandle(_Server((host, port), state))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m sim.platform_server", description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", type=Path, required=True, help="folder holding platform/<resource>.jsonl")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--client-id", default="demo")
    p.add_argument("--client-secret", default="demo-secret")
    p.add_argument("--token-ttl", type=float, default=3600)
    p.add_argument("--now", help="fixed clock, ISO 8601 (default: real time)")
    p.add_argument("--rate-429", type=float, default=0.0)
    p.add_argument("--rate-5xx", type=float, default=0.0)
    p.add_argument("--rate-drop", type=float, default=0.0)
    p.add_argument("--rate-overlap", type=float, default=0.0)
    p.add_argument("--retry-after", type=int, default=1)
    p.add_argument("--fail-first-n", type=int, default=0)
    p.add_argument("--fail-status", default="503", help="HTTP status for --fail-first-n, or 'drop'")
    p.add_argument("--forbidden", default="", help="comma-separated resources answered with 403")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if a.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    sim = start_simulator(a.data_dir, port=a.port, client_id=a.client_id,
                          client_secret=a.client_secret, token_ttl=a.token_ttl, now=a.now,
                          rate_429=a.rate_429, rate_5xx=a.rate_5xx, rate_drop=a.rate_drop,
                          rate_overlap=a.rate_overlap, retry_after=a.retry_after,
                          fail_first_n=a.fail_first_n, seed=a.seed,
                          fail_status=a.fail_status if a.fail_status == "drop" else int(a.fail_status),
                          forbidden=tuple(x for x in a.forbidden.split(",") if x))
    print(f"platform simulator listening on {sim.url}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
