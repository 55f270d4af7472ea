"""HTTP client for the provincial monitoring platform API v1 (CONTRACT.md section 1).

Retries what the contract calls transient (429 with Retry-After, 500/502/503/504, dropped
connections, timeouts, truncated bodies), refreshes the token once on 401, and fails fast
on 400/403/404. The first page's `server_time` is the watermark for the next run.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import msgspec
import requests

from core.settings import TZ

log = logging.getLogger(__name__)

TRANSIENT_STATUS = {500, 502, 503, 504}
TRANSIENT_ERRORS = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                    requests.Timeout, requests.exceptions.ContentDecodingError)


class PlatformError(Exception):
    """Base class; messages are for a person (Chinese)."""


class PlatformRequestError(PlatformError):
    """The platform refused the request itself (400, 404, other 4xx): retrying won't help."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class PlatformForbidden(PlatformRequestError):
    """403: these credentials may not read this resource."""


class PlatformAuthError(PlatformError):
    """Credentials rejected, or a fresh token was rejected too."""


class PlatformUnavailable(PlatformError):
    """Transient failures went on past max_retries."""


class PlatformProtocolError(PlatformError):
    """The response does not follow the contract."""


class RawItems(Sequence):
    """A page's items as the JSON bytes they arrived as (`raw`, msgspec.Raw slices of the
    response `body`), read as Python values only when asked for one: the loader lands the
    bytes themselves."""

    __slots__ = ("raw", "body")

    def __init__(self, raw: list, body: bytes = b""):
        self.raw = raw
        self.body = body

    def __len__(self) -> int:
        return len(self.raw)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [parse_item(r) for r in self.raw[i]]
        return parse_item(self.raw[i])


def parse_item(raw) -> Any:
    """One item's bytes as Python values, as the whole page would have read (requests decodes
    a body with errors="replace"; Python's json, unlike msgspec, also reads NaN)."""
    return json.loads(bytes(raw).decode("utf-8", "replace"))


@dataclass
class Page:
    resource: str
    number: int            # 1-based
    items: Sequence[Any]   # a list, or RawItems
    next_cursor: str | None
    total: int | None
    server_time: dt.datetime


class _Listing(msgspec.Struct):
    """A listing response with its items left as raw JSON (checked for syntax only)."""
    items: list[msgspec.Raw]
    next_cursor: Any = None
    total: Any = None
    server_time: Any = None
    body: bytes = b""       # the response itself (not a field of it)


_LISTING = msgspec.json.Decoder(_Listing)
_UTF8 = {None, "utf-8", "utf8", "UTF-8", "UTF8"}


def _listing_body(resp: requests.Response) -> Any:
    """The listing body: a _Listing when it is UTF-8 JSON of that shape, else what
    resp.json() reads (a ValueError when that is not JSON either)."""
    if resp.encoding in _UTF8:
        try:
            listing = _LISTING.decode(resp.content)
            listing.body = resp.content
            return listing
        except (msgspec.DecodeError, UnicodeDecodeError):   # NaN, another shape, ...
            pass
    return resp.json()


def parse_time(value: Any) -> dt.datetime | None:
    """ISO 8601 → aware datetime (naive means Beijing time); None if unusable."""
    if not isinstance(value, str):
        return None
    try:
        t = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=TZ)


class PlatformClient:
    def __init__(self, base_url: str, client_id: str, client_secret: str, page_size: int = 1000,
                 max_retries: int = 8, backoff_base: float = 0.5, timeout: float = 30,
                 session: requests.Session | None = None, backoff_max: float = 60,
                 retry_after_max: float = 300, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None):
        if not base_url:
            raise ValueError("未配置平台地址 PLATFORM_BASE_URL")
        if not client_id or not client_secret:
            raise ValueError("未配置平台凭据 PLATFORM_CLIENT_ID / PLATFORM_CLIENT_SECRET")
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self.page_size = page_size
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self.timeout = timeout
        self.session = session or requests.Session()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._token: str | None = None
        self._token_expiry = 0.0
        self.watermark: dt.datetime | None = None  # server_time of the last listing's first page
        self.retries = 0                           # transient failures survived, for logs/tests

    def endpoint_url(self, resource: str) -> str:
        return f"{self.base_url}/api/v1/{resource}"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "PlatformClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- listing ----------------------------------------------------------------------
    def iter_pages(self, resource: str, updated_since: dt.datetime | None = None) -> Iterator[Page]:
        """Every page of a resource, following cursors; sets self.watermark on page 1."""
        params: dict[str, Any] = {"page_size": self.page_size}
        if updated_since is not None:
            if updated_since.tzinfo is None:
                updated_since = updated_since.replace(tzinfo=TZ)
            params["updated_since"] = updated_since.isoformat()
        url = self.endpoint_url(resource)
        number, received, seen_cursors = 0, 0, set()
        started = time.monotonic()
        while True:
            body = self._get_json(url, params, _listing_body)
            number += 1
            page = self._page(resource, number, body)
            if number == 1:
                self.watermark = page.server_time
                log.info("平台 %s：自 %s 起共 %s 条，server_time=%s", resource,
                         updated_since or "全量", page.total, page.server_time.isoformat())
            received += len(page.items)
            if number % 20 == 0 or page.next_cursor is None:
                log.info("平台 %s：第 %d 页，已收 %d/%s 条，用时 %.1fs", resource, number,
                         received, page.total, time.monotonic() - started)
            yield page
            if page.next_cursor is None:
                return
            if page.next_cursor in seen_cursors:  # a server bug would otherwise loop forever
                raise PlatformProtocolError(f"平台 {resource} 返回了重复的翻页游标，已中止")
            seen_cursors.add(page.next_cursor)
            params["cursor"] = page.next_cursor

    def iter_items(self, resource: str, updated_since: dt.datetime | None = None) -> Iterator[Any]:
        for page in self.iter_pages(resource, updated_since):
            yield from page.items

    @staticmethod
    def _page(resource: str, number: int, body: Any) -> Page:
        if isinstance(body, _Listing):
            body = {"items": RawItems(body.items, body.body), "next_cursor": body.next_cursor,
                    "total": body.total, "server_time": body.server_time}
        elif not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise PlatformProtocolError(f"平台 {resource} 第 {number} 页格式不符合接口约定：缺少 items 列表")
        server_time = parse_time(body.get("server_time"))
        if server_time is None:
            raise PlatformProtocolError(
                f"平台 {resource} 第 {number} 页缺少或无法解析 server_time：{body.get('server_time')!r}")
        cursor = body.get("next_cursor") or None
        total = body.get("total")
        return Page(resource, number, body["items"], cursor,
                    total if isinstance(total, int) else None, server_time)

    # -- HTTP with retries ------------------------------------------------------------
    def _get_json(self, url: str, params: dict,
                  read: Callable[[requests.Response], Any] = requests.Response.json) -> Any:
        refreshed = False
        attempt = 0
        while True:
            headers = {"Authorization": f"Bearer {self._access_token()}",
                       "Accept": "application/json"}
            resp = self._send("GET", url, attempt, params=params, headers=headers)
            if resp is None or resp.status_code in TRANSIENT_STATUS or resp.status_code == 429:
                attempt = self._after_transient(url, attempt, resp)
                continue
            if resp.status_code == 401:
                if refreshed:
                    raise PlatformAuthError(f"平台拒绝了新取得的令牌（401）：{url}")
                log.info("令牌已失效（401），重新获取后重试一次")
                self._token = None
                refreshed = True
                continue
            self._raise_for_client_error(url, resp)
            try:
                return read(resp)
            except ValueError:  # a body cut short reads as bad JSON: transient
                attempt = self._after_transient(url, attempt, None, "响应不是完整的 JSON")

    def _access_token(self) -> str:
        if self._token is None or time.monotonic() >= self._token_expiry:
            self._token = self._fetch_token()
        return self._token

    def _fetch_token(self) -> str:
        url = f"{self.base_url}/api/v1/oauth/token"
        form = {"grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self._secret}
        attempt = 0
        while True:
            resp = self._send("POST", url, attempt, data=form)
            if resp is None or resp.status_code in TRANSIENT_STATUS or resp.status_code == 429:
                attempt = self._after_transient(url, attempt, resp)
                continue
            if resp.status_code in (400, 401):
                raise PlatformAuthError(
                    f"平台认证失败（HTTP {resp.status_code}）：请检查 PLATFORM_CLIENT_ID / "
                    f"PLATFORM_CLIENT_SECRET。{_snippet(resp)}")
            self._raise_for_client_error(url, resp)
            try:
                body = resp.json()
                token, ttl = body["access_token"], float(body.get("expires_in") or 3600)
            except (ValueError, KeyError, TypeError):
                attempt = self._after_transient(url, attempt, None, "令牌响应不完整")
                continue
            # refresh a little early; never earlier than halfway through the lifetime
            self._token_expiry = time.monotonic() + max(ttl - 30, ttl / 2)
            log.debug("取得平台令牌，有效期 %ss", ttl)
            return token

    def _send(self, method: str, url: str, attempt: int, **kw) -> requests.Response | None:
        """One HTTP call; None means a transient transport failure (already logged)."""
        try:
            return self.session.request(method, url, timeout=self.timeout, **kw)
        except TRANSIENT_ERRORS as exc:
            log.warning("%s %s 连接失败（第 %d 次）：%s", method, url, attempt + 1,
                        type(exc).__name__)
            return None

    def _after_transient(self, url: str, attempt: int, resp: requests.Response | None,
                         what: str | None = None) -> int:
        """Sleep before the next attempt, or give up; returns the new attempt count."""
        if attempt >= self.max_retries:
            reason = what or (f"HTTP {resp.status_code}" if resp is not None else "连接中断")
            raise PlatformUnavailable(f"平台接口 {url} 连续 {attempt + 1} 次失败（最后一次：{reason}），已放弃")
        delay = None
        if resp is not None and resp.status_code == 429:
            delay = _retry_after(resp.headers.get("Retry-After"))
            if delay is not None:
                delay = min(delay, self.retry_after_max)
        if delay is None:  # exponential backoff, half of it jittered
            cap = min(self.backoff_max, self.backoff_base * 2 ** attempt)
            delay = cap / 2 + self._rng.uniform(0, cap / 2)
        if resp is not None:
            log.warning("%s 返回 HTTP %d，%.2fs 后重试（第 %d 次）", url, resp.status_code, delay,
                        attempt + 1)
        self.retries += 1
        self._sleep(delay)
        return attempt + 1

    @staticmethod
    def _raise_for_client_error(url: str, resp: requests.Response) -> None:
        code = resp.status_code
        if code < 400:
            return
        if code == 403:
            raise PlatformForbidden(f"平台拒绝访问（403）：{url}，请确认账号是否有该资源的权限。{_snippet(resp)}", code)
        if code == 404:
            raise PlatformRequestError(f"平台没有这个接口（404）：{url}。{_snippet(resp)}", code)
        raise PlatformRequestError(f"平台拒绝请求（HTTP {code}）：{resp.url}。{_snippet(resp)}", code)


def _retry_after(value: str | None) -> float | None:
    """Retry-After is delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


def _snippet(resp: requests.Response) -> str:
    text = (resp.text or "").strip()
    return f"平台返回：{text[:300]}" if text else ""
