"""Field types of the platform API items (CONTRACT.md section 1) and their checks.

The loader stores each item as JSON and the dbt staging views cast its fields
(`::date`, `::timestamptz`, `::integer`, `::numeric(14,2)`, `::double precision`,
`::boolean`, `jsonb_array_elements_text`). One item whose field cannot be cast would fail
the whole dbt build, so the loader checks every item here first and rejects the bad ones
into raw.rejected_row. A value passes only if it has the contract's JSON type AND the
staging cast of it cannot fail:

- TEXT      a JSON string (a number would lose leading zeros / digits of a code or ID).
- DATE      "YYYY-MM-DD", ASCII digits, a real calendar date.
- DATETIME  ISO 8601 with an offset ("2026-03-05T09:12:44+08:00"; "Z", "+0800", "+08" and
            fractions of a second are accepted too, since PostgreSQL reads them alike). An
            offset is required: without one PostgreSQL would guess the session time zone.
- INTEGER   a JSON integer within PostgreSQL `integer` (not 3.0: `'3.0'::integer` fails;
            not "3": the contract says JSON numbers; not true/false).
- NUMBER    a finite JSON number within `double precision` (coordinates, accuracy).
- MONEY     yuan for `numeric(14,2)`: a finite JSON number, or a plain decimal string
            ("1234.50": exports often write money as text to keep exact cents, and
            PostgreSQL casts it exactly); at most 12 digits before the point after rounding
            to cents. "1,234.50", "1234.5元" and "" are rejected.
- BOOLEAN   JSON true/false only ("yes", "是", 1 are rejected although some casts accept them).
- TEXT_ARRAY a JSON array of strings, possibly empty.

Nulls (a missing field counts as null): every type accepts null unless the field is
`required`, except that an empty string is never a valid DATE/DATETIME/number (its cast
fails). See resources.py for which fields are required and why.
"""
from __future__ import annotations

import datetime as dt
import enum
import json
import math
import re
import sys
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any, Callable

import msgspec

from .client import parse_time  # the loader's reading of updated_at (naive: Beijing time)


class FieldType(enum.Enum):
    TEXT = "text"
    DATE = "date"
    DATETIME = "datetime"
    INTEGER = "integer"
    NUMBER = "number"
    MONEY = "money"
    BOOLEAN = "boolean"
    TEXT_ARRAY = "text_array"


@dataclass(frozen=True)
class Field:
    type: FieldType
    nullable: bool = False   # the contract says "nullable" (documentation; null always passes)
    required: bool = False   # null, missing or blank is rejected

    def __post_init__(self):
        if self.nullable and self.required:
            raise ValueError("a field cannot be both nullable and required")


_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"
    r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)")
_MONEY_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_INT_MIN, _INT_MAX = -2**31, 2**31 - 1
_MONEY_LIMIT = Decimal("999999999999.995")   # numeric(14,2): 12 digits before the point
_MONEY_FAST = 999999999999.0
_MAX_OFFSET = dt.timedelta(hours=16)          # PostgreSQL: "time zone displacement out of range"
_CENT = Decimal("0.01")


def shown(value: Any, limit: int = 60) -> str:
    """A received value as JSON text for a reason message, cut short if long."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


# Each check returns None when the (non-null) value is fine, else the reason (Chinese).
def _text(name: str, v: Any) -> str | None:
    if isinstance(v, str):
        return None
    return f"字段 {name} 应为文本字符串（收到 {shown(v)}）"


def _date(name: str, v: Any) -> str | None:
    if isinstance(v, str) and len(v) == 10 and _DATE_RE.fullmatch(v):
        try:
            dt.date(int(v[:4]), int(v[5:7]), int(v[8:]))
            return None
        except ValueError:
            pass
    return f"字段 {name} 不是合法日期（收到 {shown(v)}），应为 YYYY-MM-DD 格式的真实日期"


_PLAIN_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\+08:00")


def _datetime(name: str, v: Any) -> str | None:
    # the common case: whole seconds in Beijing time, a year far from the ends of the range
    if type(v) is str and len(v) == 25 and _PLAIN_DATETIME.fullmatch(v) and "0001" < v[:4] < "9999":
        try:
            dt.datetime.fromisoformat(v)
            return None
        except ValueError:
            pass
    if isinstance(v, str) and _DATETIME_RE.fullmatch(v):
        try:
            t = dt.datetime.fromisoformat(v)
            if abs(t.utcoffset()) < _MAX_OFFSET:
                t.astimezone(dt.timezone.utc)  # OverflowError near year 1 / 9999
                return None
        except (ValueError, OverflowError):
            pass
    return (f"字段 {name} 不是带时区的合法时间（收到 {shown(v)}），"
            f"应如 2026-03-05T09:12:44+08:00")


def _integer(name: str, v: Any) -> str | None:
    if type(v) is int:  # noqa: E721 - bool is an int subclass and must not pass
        if _INT_MIN <= v <= _INT_MAX:
            return None
        return f"字段 {name} 超出整数范围（收到 {shown(v)}）"
    return f"字段 {name} 不是整数（收到 {shown(v)}）"


def _number(name: str, v: Any) -> str | None:
    if type(v) is float:
        if math.isfinite(v):
            return None
    elif type(v) is int:
        try:
            float(v)
            return None
        except OverflowError:
            pass
    return f"字段 {name} 不是有限的数值（收到 {shown(v)}）"


def _money(name: str, v: Any) -> str | None:
    t = type(v)
    if t is float or t is int:
        if -_MONEY_FAST < v < _MONEY_FAST:
            return None
        if t is float and not math.isfinite(v):
            return f"字段 {name} 不是合法金额（收到 {shown(v)}），应为数值（元）"
        amount = Decimal(repr(v)) if t is float else Decimal(v)
    elif t is str and _MONEY_RE.fullmatch(v):
        amount = Decimal(v)
    else:
        return f"字段 {name} 不是合法金额（收到 {shown(v)}），应为数值（元），不带千分位和单位"
    try:
        if abs(amount.quantize(_CENT, ROUND_HALF_UP)) < _MONEY_LIMIT:
            return None
    except InvalidOperation:   # more digits than the context holds: far out of range
        pass
    return f"字段 {name} 金额超出范围（收到 {shown(v)}），整数部分最多 12 位（元）"


def _boolean(name: str, v: Any) -> str | None:
    if v is True or v is False:
        return None
    return f"字段 {name} 不是布尔值 true/false（收到 {shown(v)}）"


def _text_array(name: str, v: Any) -> str | None:
    if type(v) is not list:
        return f"字段 {name} 应为文本数组，空时为 []（收到 {shown(v)}）"
    for i, element in enumerate(v, 1):
        if not isinstance(element, str):
            return f"字段 {name} 的第 {i} 个元素不是文本（收到 {shown(element)}）"
    return None


CHECKS: dict[FieldType, Callable[[str, Any], str | None]] = {
    FieldType.TEXT: _text,
    FieldType.DATE: _date,
    FieldType.DATETIME: _datetime,
    FieldType.INTEGER: _integer,
    FieldType.NUMBER: _number,
    FieldType.MONEY: _money,
    FieldType.BOOLEAN: _boolean,
    FieldType.TEXT_ARRAY: _text_array,
}


Checks = tuple[tuple[str, Callable[[str, Any], "str | None"], bool, int], ...]

# how field_problems treats a non-null value before calling its check
_CALL, _TEXT, _BOOL, _NUMBER, _INTEGER = range(5)
_KINDS = {FieldType.TEXT: _TEXT, FieldType.BOOLEAN: _BOOL, FieldType.NUMBER: _NUMBER,
          FieldType.INTEGER: _INTEGER}


class _CompiledChecks(tuple):
    """The checks, and (attribute `problems`) field_problems generated for them."""


def compile_checks(fields: dict[str, Field]) -> Checks:
    """(name, check, required, kind) per field, with field_problems compiled for them."""
    checks = _CompiledChecks((name, CHECKS[f.type], f.required, _KINDS.get(f.type, _CALL))
                             for name, f in fields.items())
    checks.problems = _compile_problems(checks)
    return checks


_ACCEPT = {   # a non-string value the check would pass, tested inline
    _BOOL: "v is True or v is False",
    _NUMBER: "tv is float and v - v == 0.0",
    _INTEGER: "tv is int and _INT_MIN <= v <= _INT_MAX",
}


def _compile_problems(checks: Checks) -> Callable[[dict], list]:
    """field_problems for one field table as one generated function (no loop, no per-field
    dispatch): the same checks in the same order, the same results."""
    lines = ["def problems(item):", "    get = item.get", "    out = []"]
    for i, (name, _, required, kind) in enumerate(checks):
        n = repr(name)
        lines.append(f"    v = get({n})")
        lines.append("    if v is None:")
        lines.append(f"        out.append(({n}, True, {('缺少必填字段 ' + name + '（为空）')!r}))"
                     if required else "        pass")
        lines.append("    else:")
        lines.append("        tv = type(v)")
        lines.append("        if tv is str:")
        if required:
            lines.append("            if not v.strip():")
            lines.append(f"                out.append(({n}, True, {('缺少必填字段 ' + name + '（为空字符串）')!r}))")
            if kind != _TEXT:
                lines.append("            else:")
                lines.append(f"                r = c{i}({n}, v)")
                lines.append(f"                if r is not None: out.append(({n}, {required}, r))")
        elif kind != _TEXT:
            lines.append(f"            r = c{i}({n}, v)")
            lines.append(f"            if r is not None: out.append(({n}, {required}, r))")
        else:
            lines.append("            pass")
        if kind in _ACCEPT:
            lines.append(f"        elif {_ACCEPT[kind]}:")
            lines.append("            pass")
        lines.append("        else:")
        lines.append(f"            r = c{i}({n}, v)")
        lines.append(f"            if r is not None: out.append(({n}, {required}, r))")
    lines.append("    return out")
    scope = {f"c{i}": check for i, (_, check, _, _) in enumerate(checks)}
    scope.update(_INT_MIN=_INT_MIN, _INT_MAX=_INT_MAX)
    exec("\n".join(lines), scope)   # noqa: S102 - our own text, built from the field table
    return scope["problems"]


def field_problems(checks: Checks, item: dict) -> list[tuple[str, bool, str]]:
    """(field, required, reason) for every field that breaks the table ([] if none)."""
    compiled = getattr(checks, "problems", None)
    if compiled is not None:
        return compiled(item)
    problems = []
    get = item.get
    for name, check, required, kind in checks:
        v = get(name)
        if v is None:
            if required:
                problems.append((name, True, f"缺少必填字段 {name}（为空）"))
            continue
        tv = type(v)
        if tv is str:
            if required and not v.strip():
                problems.append((name, True, f"缺少必填字段 {name}（为空字符串）"))
                continue
            if kind == _TEXT:  # the common cases, without a call
                continue
        elif kind == _BOOL:
            if v is True or v is False:
                continue
        elif kind == _NUMBER:
            if tv is float and v - v == 0.0:   # finite
                continue
        elif kind == _INTEGER:
            if tv is int and _INT_MIN <= v <= _INT_MAX:
                continue
        reason = check(name, v)
        if reason is not None:
            problems.append((name, required, reason))
    return problems


def field_errors(checks: Checks, item: dict) -> list[str]:
    """Every reason the item breaks its field table (empty list: the item is fine)."""
    return [reason for _, _, reason in field_problems(checks, item)]


# -- the fast path: a compiled validator for items that are exactly what the contract says --
_DBL_MAX = sys.float_info.max
_fromisoformat = dt.datetime.fromisoformat
_FAST_TYPES: dict[FieldType, Any] = {       # the non-null value the check passes without a call
    FieldType.TEXT: str,
    FieldType.DATE: dt.date,                # msgspec: exactly YYYY-MM-DD, a real calendar date
    FieldType.DATETIME: str,                # checked by _datetime after decoding
    FieldType.INTEGER: Annotated[int, msgspec.Meta(ge=_INT_MIN, le=_INT_MAX)],   # not 3.0, not true
    FieldType.NUMBER: Annotated[float, msgspec.Meta(ge=-_DBL_MAX, le=_DBL_MAX)],  # ints too; finite
    FieldType.MONEY: Annotated[float, msgspec.Meta(gt=-_MONEY_FAST, lt=_MONEY_FAST)],
    FieldType.BOOLEAN: bool,
    FieldType.TEXT_ARRAY: list[str],
}


_PLAIN_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\+08:00")


def compile_fast(fields: dict[str, Field], key: tuple[str, ...]) -> Callable[[Any], tuple | None]:
    """A validator of one item's JSON bytes: (record_id, updated_at, updated_at as text for
    COPY, is_deleted) when the item is an object holding only contract fields, `updated_at`
    and `is_deleted`, each of its type and none that field_problems would report; else None,
    and the caller takes the item through the full checks (which give the reasons). So it may
    refuse more than the checks do, never less: what it passes the checks pass, with no
    problem and no warning, and with the same record_id, updated_at and is_deleted.

    Unknown fields send an item the long way, since any JSON value may hide in them (a number
    beyond double precision, which Python reads as Infinity); so does a \\u escape in bytes,
    which may be \\u0000 or a lone surrogate, both refused by jsonb (a msgspec.Raw is taken
    from a page the caller found without a backslash). Strings are checked as UTF-8."""
    spec: list[tuple] = []
    for name, f in fields.items():
        t = _FAST_TYPES[f.type]
        spec.append((name, t) if f.required else (name, t | None, None))
    spec += [("updated_at", str), ("is_deleted", bool, False)]
    item_type = msgspec.defstruct("Item", spec, kw_only=True, forbid_unknown_fields=True, gc=False)
    decode = msgspec.json.Decoder(item_type).decode
    datetimes = tuple(name for name, f in fields.items() if f.type is FieldType.DATETIME)
    single = key[0] if len(key) == 1 and fields[key[0]].type is FieldType.TEXT else None
    # required strings must not be blank (a Meta pattern would cost a regex call each)
    strings = tuple(name for name, f in fields.items() if f.required and _FAST_TYPES[f.type] is str)

    def fast(raw) -> tuple | None:
        if type(raw) is bytes and b"\\u" in raw:
            return None
        try:
            item = decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError):   # ValidationError is a DecodeError
            return None
        for name in strings:
            if not getattr(item, name).strip():
                return None
        for name in datetimes:
            v = getattr(item, name)
            if v is not None and _datetime(name, v) is not None:
                return None
        if single is not None:
            record_id = getattr(item, single).strip()
        else:
            record_id = ":".join(str(getattr(item, k)).strip() for k in key)
        stamp = item.updated_at
        if _PLAIN_TIME.fullmatch(stamp):   # the common form, which PostgreSQL reads as it is
            try:
                updated_at = _fromisoformat(stamp)
            except ValueError:             # not a real date or time
                return None
        else:
            updated_at = parse_time(stamp)
            if updated_at is None:
                return None
            stamp = updated_at.isoformat()
        return record_id, updated_at, stamp, item.is_deleted

    return fast
