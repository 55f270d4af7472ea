"""Cell value parsing: header text, ID numbers, dates, money, codes, enums, 是/否.

Every parser takes what a CSV (str) or openpyxl (str/int/float/datetime/bool) cell holds,
returns a typed value or None for empty, and raises RowRejected with a Chinese reason a
person can act on.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

EXCEL_EPOCH = dt.datetime(1899, 12, 30)   # Windows 1900 date system (with its leap-year bug)
INT4_MAX = 2**31 - 1


class RowRejected(Exception):
    """This row cannot be loaded; the message says why (Chinese, actionable)."""


_ZERO_WIDTH = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"), None)
_BRACKETS = str.maketrans({"【": "(", "】": ")", "[": "(", "]": ")", "〔": "(", "〕": ")"})


# ASCII and CJK unified ideographs only: text NFKC leaves as it is (no decompositions, nothing
# composes with them) and without zero-width characters
_NFKC_STABLE = re.compile("[\x00-\x7f\u4e00-\u9fff]*")


def nfkc(value: str) -> str:
    """Full-width to half-width (digits, letters, brackets, spaces), zero-width chars removed."""
    if value.isascii() or _NFKC_STABLE.fullmatch(value):   # the common cases
        return value
    return unicodedata.normalize("NFKC", value).translate(_ZERO_WIDTH)


def squeeze(value: str) -> str:
    """nfkc and every whitespace removed: for codes, IDs, enums and numbers."""
    return "".join(nfkc(value).split())


def header_key(value) -> str:
    """Comparable form of a header cell: 救助类型（农村低保/…） == 救助类型(农村低保/…)."""
    if value is None:
        return ""
    if type(value) is str and len(value) <= 64:
        return _header_key_cached(value)
    return _header_key(value)


@functools.lru_cache(maxsize=8192)
def _header_key_cached(value: str) -> str:
    """Header texts, and the cells the reader checks against them, repeat from row to row."""
    return _header_key(value)


def _header_key(value) -> str:
    text = squeeze(str(value)).translate(_BRACKETS)
    return text.lstrip("*").rstrip(":").lower()   # *身份证号 marks a required field in templates


def is_empty(value) -> bool:
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    if value.isascii():
        return not value.strip()
    return not squeeze(value)


def cell_text(value) -> str:
    """How a cell reads to a person (for payloads and messages)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    return str(value)


# --- text and codes --------------------------------------------------------------------------

def parse_text(value) -> str | None:
    if is_empty(value):
        return None
    return cell_text(value).strip()


def parse_code(value, label: str, pattern: str | None = None, hint: str | None = None,
               upper: bool = False) -> str | None:
    """Region codes, project numbers, credit codes: half-width, no spaces (upper case if asked)."""
    if is_empty(value):
        return None
    if isinstance(value, float) and not value.is_integer():
        raise RowRejected(f"{label}“{value}”不是有效编码（被存成了小数），请以文本格式重新导出")
    text = squeeze(cell_text(value)).lstrip("'")
    if upper:
        text = text.upper()
    if pattern and not re.fullmatch(pattern, text):
        what = hint or f"格式应符合 {pattern}"
        raise RowRejected(f"{label}“{cell_text(value)}”格式不对：{what}")
    return text


# --- ID numbers ------------------------------------------------------------------------------

_SCI = re.compile(r"[+-]?\d+(\.\d*)?E[+-]?\d+", re.IGNORECASE)
_ID = re.compile(r"\d{15}|\d{17}[\dX]|\d{17}[\dX]\d{2}")


_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_check_digit_ok(text: str) -> bool:
    """GB 11643-1999 check digit of an 18-character ID number."""
    if not re.fullmatch(r"\d{17}[\dX]", text):
        return False
    total = sum(int(d) * w for d, w in zip(text[:17], _WEIGHTS))
    return "10X98765432"[total % 11] == text[17]


def parse_id_number(value, label: str, department: str) -> str | None:
    """Normalised ID number (15 or 18 chars) or disability certificate number (20 chars).

    The GB 11643 check digit is not verified here: a data-quality rule (ID-01) reports it,
    so the row still lands and can be followed up.
    """
    if is_empty(value):
        return None
    redo = f"原号码已丢失，请让{department}重新导出（身份证号列设为文本格式）"
    if isinstance(value, bool):
        raise RowRejected(f"{label}“{value}”不是证件号码")
    if isinstance(value, (int, float)):
        # Excel keeps 15 significant digits: an 18-digit number in a numeric cell is lost,
        # unless the file holds the exact integer (not Excel) and its check digit proves it.
        exact = isinstance(value, int) and (value < 10**15 or id_check_digit_ok(str(value)))
        if not exact and (isinstance(value, float) and not value.is_integer() or abs(value) >= 10**15):
            raise RowRejected(f"{label}被Excel存成了数字({value:.5E})，{redo}")
        value = str(int(value))
    text = squeeze(str(value)).lstrip("'").upper()
    if _SCI.fullmatch(text):
        raise RowRejected(f"{label}为科学计数法({str(value).strip()})，{redo}")
    if not _ID.fullmatch(text):
        raise RowRejected(
            f"{label}“{str(value).strip()}”不是15/18位身份证号或20位残疾人证号"
            f"（整理后为{len(text)}个字符），请核对后重新报送")
    return text


# --- dates -----------------------------------------------------------------------------------

_DATE_PATTERNS = (
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:T?\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)
_SERIAL = re.compile(r"\d{5}(\.\d+)?")
MIN_SERIAL = 10000   # 1927-05-18: a smaller number (2026, 305) is not a date in these feeds
_MIN_DATE, _MAX_DATE = dt.date(1900, 1, 1), dt.date(2100, 12, 31)


def _serial_to_date(serial: float, epoch: dt.datetime) -> dt.date:
    return (epoch + dt.timedelta(days=math.floor(serial))).date()


def parse_date(value, label: str, epoch: dt.datetime = EXCEL_EPOCH) -> dt.date | None:
    """2026-03-05, 2026/3/5, 2026.3.5, 20260305, 2026年3月5日, Excel serial or datetime cell."""
    if is_empty(value):
        return None
    bad = f"{label}“{cell_text(value)}”不是可识别的日期（应为2026-03-05这样的格式）"
    if isinstance(value, dt.datetime):
        result = value.date()
    elif isinstance(value, dt.date):
        result = value
    elif isinstance(value, bool) or isinstance(value, dt.time):
        raise RowRejected(bad)
    elif isinstance(value, (int, float)):
        if 19000101 <= value <= 21001231 and float(value).is_integer():  # 20260305 as a number
            return parse_date(str(int(value)), label, epoch)
        if not MIN_SERIAL <= value < 2958466:
            raise RowRejected(bad)
        result = _serial_to_date(value, epoch)
    else:
        text = squeeze(str(value))
        result = None
        for pattern in _DATE_PATTERNS:
            m = pattern.fullmatch(text)
            if m:
                try:
                    result = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                except ValueError:
                    raise RowRejected(f"{label}“{str(value).strip()}”不是真实存在的日期") from None
                break
        if result is None and _SERIAL.fullmatch(text) and float(text) >= MIN_SERIAL:
            result = _serial_to_date(float(text), epoch)   # an Excel serial that became text
        if result is None:
            raise RowRejected(bad)
    if not _MIN_DATE <= result <= _MAX_DATE:
        raise RowRejected(f"{label}“{cell_text(value)}”超出合理日期范围（{result.isoformat()}）")
    return result


# --- numbers and money ----------------------------------------------------------------------

# Bounds that fit every column the value reaches downstream (raw numeric, staging/marts
# numeric(14,2) and numeric(18,2), integer): a value outside is a wrong value, never stored.
MONEY_LIMIT_YUAN = Decimal("1e12")   # under a trillion yuan (numeric(14,2) holds 12 digits)
NUMBER_LIMIT = Decimal("1e12")       # quantities, counts with decimals
MAX_PLACES = {"yuan": 4, "wan": 8, "number": 6}   # finer digits are rounded away
_MAX_TEXT_DIGITS = 60                # longer number text is not a number anyone wrote


def _decimal(value, label: str, what: str) -> Decimal:
    if isinstance(value, bool):
        raise RowRejected(f"{label}“{value}”不是{what}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RowRejected(f"{label}“{value}”不是{what}")
        return Decimal(repr(value))
    if not isinstance(value, str):   # a date or time cell in a number column
        raise RowRejected(f"{label}“{cell_text(value)}”不是{what}")
    if len(value) > _MAX_TEXT_DIGITS:
        raise RowRejected(f"{label}“{_short(value)}”不是{what}（共{len(value)}个字符，过长）")
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise RowRejected(f"{label}“{_short(value)}”不是{what}") from None
    if not result.is_finite():
        raise RowRejected(f"{label}“{value}”不是{what}")
    return result


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _bounded(number: Decimal, limit: Decimal, places: int, label: str, shown: str,
             unit: str) -> Decimal:
    """Reject a magnitude the columns cannot hold; round digits finer than `places`."""
    if abs(number) >= limit:
        raise RowRejected(f"{label}“{_short(shown)}”数值超出合理范围（绝对值应小于{limit:,.0f}{unit}），请核对")
    exponent = number.as_tuple().exponent
    if exponent < -places:
        number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    elif exponent > 0:   # 1E+11 -> 100000000000: plain digits for COPY and for people
        number = number.quantize(Decimal(1))
    return number


def parse_money(value, label: str, unit: str = "yuan") -> Decimal | None:
    """1,234.50 / 1234.5元 / ¥1234.5 / 12.5万元 / empty -> Decimal in the column's unit.

    A cell carrying its own unit is read in that unit and converted to the column's
    (CONTRACT conventions: a 万元 column holding 1622500元 holds 162.25). Only an empty
    cell is NULL: `--` or `待核` is rejected, not guessed to mean "none".
    """
    if is_empty(value):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number, cell_unit, original = _decimal(value, label, "金额"), unit, cell_text(value)
    else:
        original = str(value).strip()
        text = squeeze(original).replace(",", "").lstrip("¥").removeprefix("RMB")
        cell_unit = unit
        if text.endswith("万元") or text.endswith("万"):
            text, cell_unit = text.removesuffix("元").removesuffix("万"), "wan"
        elif text.endswith("元"):
            text, cell_unit = text.removesuffix("元"), "yuan"
        number = _decimal(text, label, "有效金额")
    limit = MONEY_LIMIT_YUAN if cell_unit == "yuan" else MONEY_LIMIT_YUAN / 10000
    number = _bounded(number, limit, MAX_PLACES[cell_unit], label, original,
                      "元" if cell_unit == "yuan" else "万元")
    if cell_unit == unit:
        return number
    if unit == "yuan":    # 12.5万元 in a 元 column
        return number * 10000
    return _bounded(number / 10000, MONEY_LIMIT_YUAN / 10000, MAX_PLACES["wan"], label,
                    original, "万元")   # 1622500元 in a 万元 column


def parse_integer(value, label: str, units: tuple[str, ...] = ()) -> int | None:
    if is_empty(value):
        return None
    number = _decimal(_strip_units(value, units), label, "整数")
    if abs(number) > INT4_MAX:
        raise RowRejected(f"{label}“{_short(cell_text(value))}”数值过大（超出整数范围）")
    if number != number.to_integral_value():
        raise RowRejected(f"{label}“{cell_text(value)}”不是整数")
    return int(number)


def parse_numeric(value, label: str, units: tuple[str, ...] = ()) -> Decimal | None:
    if is_empty(value):
        return None
    number = _decimal(_strip_units(value, units), label, "数字")
    return _bounded(number, NUMBER_LIMIT, MAX_PLACES["number"], label, cell_text(value), "")


def _strip_units(value, units: tuple[str, ...]):
    if not isinstance(value, str):
        return value
    text = squeeze(value).replace(",", "")
    for unit in units:
        text = text.removesuffix(unit)
    return text


# --- code lists ------------------------------------------------------------------------------

def parse_enum(value, label: str, allowed: tuple[str, ...], aliases: dict) -> str | None:
    if is_empty(value):
        return None
    text = squeeze(cell_text(value))
    text = aliases.get(text, text)
    if text not in allowed:
        raise RowRejected(f"{label}“{cell_text(value).strip()}”不在允许的取值({'/'.join(allowed)})中")
    return text


_TRUE, _FALSE = {"是", "Y", "YES", "TRUE"}, {"否", "N", "NO", "FALSE"}


def parse_shi_fou(value, label: str) -> bool | None:
    if is_empty(value):
        return None
    if isinstance(value, bool):
        return value
    text = squeeze(cell_text(value)).upper()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RowRejected(f"{label}“{cell_text(value).strip()}”应为“是”或“否”")
