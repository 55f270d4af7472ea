"""Every form of ID and phone number real text carries is masked wherever it is written
(random text around it, hypothesis), ordinary numbers are left alone, and each form fed into
dq.issue comes out masked in the stored detail and in every part of a real digest."""
from __future__ import annotations

import datetime as dt
import importlib.util
import re
import sys
from pathlib import Path

import psycopg
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.masking import mask_text

_spec = importlib.util.spec_from_file_location("alertdata_pii", Path(__file__).resolve().parents[1] / "alerts" / "alertdata.py")
alertdata = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = alertdata      # dataclasses look their module up
_spec.loader.exec_module(alertdata)

FULLWIDTH = str.maketrans({str(i): chr(0xFF10 + i) for i in range(10)} | {"X": "Ｘ", " ": "\u3000"})
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def check_char(first17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11]


def normalised_digits(text: str) -> str:
    """What a reader could piece together: full-width folded, separators dropped."""
    text = text.translate({0xFF10 + i: str(i) for i in range(10)} | {0xFF38: "X", 0x3000: " ", 0xFF0B: "+"})
    return re.sub(r"[ \-]", "", text)


# ---- the forms -------------------------------------------------------------------------------

@st.composite
def id18(draw):
    region = str(draw(st.integers(110000, 659999)))
    born = draw(st.dates(dt.date(1900, 1, 1), dt.date(2025, 12, 31)))
    seq = f"{draw(st.integers(0, 999)):03d}"
    first17 = f"{region}{born:%Y%m%d}{seq}"
    return first17 + check_char(first17)


def grouped(n: str, sizes: list[int], sep: str) -> str:
    out, i = [], 0
    for s in sizes:
        out.append(n[i:i + s])
        i += s
    return sep.join(out)


@st.composite
def id_form(draw):
    """(text as written, masked form that must appear, digits that must not)."""
    n = draw(id18())
    masked = n[:6] + "*" * 8 + n[-4:]
    kind = draw(st.sampled_from(["plain", "6-8-4", "4-4-4-4-2", "6-4-4-4", "prefix", "lower-x",
                                 "fullwidth", "disability", "old15"]))
    if kind == "plain":
        return n, masked, n
    if kind in ("6-8-4", "4-4-4-4-2", "6-4-4-4"):
        sizes = [int(x) for x in kind.split("-")]
        return grouped(n, sizes, draw(st.sampled_from([" ", "-"]))), masked, n
    if kind == "prefix":
        return draw(st.sampled_from(["sfz", "SFZ", "ID", "身份证号"])) + n, masked, n
    if kind == "lower-x":
        return n.replace("X", "x"), masked, n
    if kind == "fullwidth":
        return n.translate(FULLWIDTH), masked, n
    if kind == "disability":
        cert = n + str(draw(st.integers(1, 7))) + str(draw(st.integers(1, 4)))
        return cert, masked, cert[:18]
    old = n[:6] + n[8:14] + n[14:17]          # 15 digits: YYMMDD, no check character
    return old, old[:6] + "*" * 6 + old[-3:], old


@st.composite
def phone_form(draw):
    n = f"1{draw(st.integers(3, 9))}{draw(st.integers(0, 10**9 - 1)):09d}"
    masked = n[:3] + "****" + n[-4:]
    kind = draw(st.sampled_from(["plain", "3-4-4", "+86 3-4-4", "86", "+86", "0086", "(+86)", "fullwidth"]))
    written = {
        "plain": n, "3-4-4": grouped(n, [3, 4, 4], draw(st.sampled_from([" ", "-"]))),
        "+86 3-4-4": "+86 " + grouped(n, [3, 4, 4], " "), "86": "86" + n, "+86": "+86" + n,
        "0086": "0086 " + n, "(+86)": "(+86)" + n, "fullwidth": n.translate(FULLWIDTH),
    }[kind]
    return written, masked, n


# text around a number: anything, but the character touching it is not a digit (or a
# separator before a digit), else it would be a longer number and no longer this one
FILLER = st.text(st.sampled_from(list("的户主电话残疾证号码于年月日村镇，。：；（）、 abcXYZ-0123456789元")), max_size=30)
EDGE = st.sampled_from(list("的户主电话：，。；（）、abcZ"))


@settings(max_examples=200, deadline=None)
@given(st.one_of(id_form(), phone_form()), FILLER, EDGE, EDGE, FILLER)
def test_every_form_is_masked_in_any_text(form, before, left, right, after):
    written, masked, full = form
    if right[:1] in ("X", "x"):
        right = ""
    out = mask_text(before + left + written + right + after)
    assert masked in out
    assert full not in normalised_digits(out)


REGION = st.builds(lambda c, t, v: f"{c}{t}{v}", st.integers(300000, 399999), st.integers(100, 299),
                   st.integers(200, 299))   # county + town + village
DATE = st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)).flatmap(
    lambda d: st.sampled_from([d.isoformat(), f"{d:%Y%m%d}", f"{d:%Y/%m/%d}", f"{d.year}年{d.month}月{d.day}日"]))
AMOUNT = st.one_of(st.integers(0, 10**9).map(str),
                   st.decimals(0, 10**8, places=2, allow_nan=False, allow_infinity=False).map(str))
JOIN = st.sampled_from(["，", "：", "；", "、", "（", "）", "元，", "户 ", "\n", " 于 "])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.one_of(REGION, REGION.map(lambda r: r[:9]), DATE, AMOUNT), JOIN), min_size=1, max_size=8))
def test_dates_amounts_and_region_codes_are_left_alone(parts):
    text = "".join(a + b for a, b in parts)
    assert mask_text(text) == text


def test_digest_as_printed_keeps_codes_and_dates():
    line = "  [PAPER-01] 东村 341225101201 走访 V001：走访日期 2026-11-28，金额 1500.00 元，已持续 3 天"
    assert mask_text(line) == line
    assert mask_text("问题最多的村：东村（341225101201）：12 条，其中高风险 3 条") == \
        "问题最多的村：东村（341225101201）：12 条，其中高风险 3 条"


# ---- through dq.issue and a real digest ------------------------------------------------------

FORMS = {
    "+86 138 1234 5678": "13812345678",
    "8613912345678": "13912345678",
    "sfz341225198001011234": "341225198001011234",
    "341225 19800101 1235": "341225198001011235",
    "3412 2519 8001 0112 36": "341225198001011236",
    "341225800101127": "341225800101127",
    "残疾证号34122519800101123742": "34122519800101123742",
    "１３７１２３４５６７８": "13712345678",
    "３４１２２５１９８００１０１１２３Ｘ": "34122519800101123X",
}


def test_each_form_is_masked_in_dq_issue_and_every_part_of_the_digest(fresh_db_url, tmp_path, monkeypatch):
    from alerts import digest, routing
    from alerts.collect import collect
    from core.schema import ensure_schema
    from expectations.dq_store import sync_issues

    routing_file = tmp_path / "routing.yml"
    routing_file.write_text(alertdata.ROUTING, encoding="utf-8")
    monkeypatch.setenv("ALERT_ROUTING_FILE", str(routing_file))
    run_date = alertdata.RUN_DATE
    with psycopg.connect(fresh_db_url) as conn:
        ensure_schema(conn, "dq")
        conn.execute("create schema marts")
        conn.execute("create table marts.dim_region (region_code text primary key, region_name text, region_level text)")
        conn.cursor().executemany("insert into marts.dim_region values (%s, %s, %s)", alertdata.REGIONS)
        conn.execute("create table marts.dim_grid_worker (worker_id text primary key, worker_name text)")
        conn.execute("create table marts.fct_visit (visit_id text primary key, worker_id text)")
        conn.commit()
        findings = [("PAPER-01", "high", "visit", f"V{i:03d}", "341225", "341225101", "341225101201",
                     f"入户走访记录：{written}，走访日期 2026-11-28")
                    for i, written in enumerate(FORMS)]
        sync_issues(conn, run_date, ["PAPER-01"], findings)
        stored = [r[0] for r in conn.execute("select detail from dq.issue order by entity_id")]
        assert len(stored) == len(FORMS)
        assert all("2026-11-28" in s for s in stored)

        digests = collect(conn, run_date, routing.load_routing(routing_file))
        assert digests
        parts = []
        for d in digests:
            msg = digest.build_message(d, d.audience.recipient)
            parts += [text for _, text in alertdata.decoded_parts(msg)] + [str(msg["Subject"])]
    for where, texts in (("dq.issue.detail", stored), ("digest", parts)):
        seen = normalised_digits("\n".join(texts))
        for written, full in FORMS.items():
            assert full not in seen, f"{written} unmasked in {where}"
            assert full[6:14] not in seen or len(full) == 15, f"birth date of {written} in {where}"
    assert "V008" in "".join(parts) and "2026-11-28" in "".join(parts)
