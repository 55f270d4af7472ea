"""dbt's fw_to_hw macro (dbt_project/macros/text_normalise.sql) on a real
PostgreSQL, against the rule as DOMAIN.md states it: full-width digits, letters, the ideographic
space and brackets become half-width, then the value is trimmed. fw_to_hw skips translate() for
a value without any of those characters (for speed): random text must give the same either way."""
from __future__ import annotations

import jinja2
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.dbt import DBT_PROJECT_DIR

FULL = "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ　（）"
HALF = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz ()"
TO_HALF = str.maketrans(FULL, HALF)
# what field exports hold: ASCII, the full-width forms (those translated and their neighbours,
# e.g. ＋ and ｛), ideographs, the ideographic space, tabs and newlines
CELLS = st.text(st.one_of(st.characters(min_codepoint=0x20, max_codepoint=0x7e),
                          st.sampled_from(FULL), st.characters(min_codepoint=0xff01, max_codepoint=0xff5e),
                          st.sampled_from("张王李村组号\u3000\t\n")), max_size=24)


def _macros():
    env = jinja2.Environment()
    text = (DBT_PROJECT_DIR / "macros" / "text_normalise.sql").read_text(encoding="utf-8")
    return env.from_string(text).module


def _spec(value: str | None) -> str | None:
    return None if value is None else value.translate(TO_HALF).strip(" ")


@pytest.fixture(scope="module")
def conn(pg_server_url):
    with psycopg.connect(pg_server_url, autocommit=True) as c:
        yield c


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(st.none(), CELLS), min_size=1, max_size=40))
def test_fw_to_hw_is_the_rule_with_or_without_translate(conn, values):
    sql = f"select {_macros().fw_to_hw('v')} from unnest(%s::text[]) with ordinality as t (v, i) order by i"
    got = [r[0] for r in conn.execute(sql, (values,))]
    assert got == [_spec(v) for v in values]


def test_fw_to_hw_examples(conn):
    cases = {" ３４１２２５x　": "３４１２２５x".translate(TO_HALF), "（张三）": "(张三)", "ＡＢ＋": "AB＋",
             "plain": "plain", "": "", "　": ""}
    sql = f"select {_macros().fw_to_hw('v')} from (select %s::text as v) as t"
    assert {c: conn.execute(sql, (c,)).fetchone()[0] for c in cases} == cases
