"""The dbt test that no full ID number reaches a mart (assert_no_unmasked_id_in_marts) looks at a
text's length and its '*' before its regex: on a real PostgreSQL, holds_full_id gives what the
regex alone gives."""
from __future__ import annotations

from pathlib import Path

import jinja2
import psycopg
from hypothesis import example, given, settings
from hypothesis import strategies as st

MACROS = Path(__file__).resolve().parents[2] / "dbt_project" / "macros" / "identity.sql"
holds_full_id = jinja2.Environment().from_string(MACROS.read_text()).module.holds_full_id

_piece = st.sampled_from(["3412251990010112", "34", "X", "x", "*", "****", "0", "9", " ", "张三",
                          "１", "-", "341225********1234", "341225*******1234", "3412251990010112345",
                          "34122519900101123"])


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(texts=st.lists(st.lists(_piece, max_size=8).map("".join) | st.none(), min_size=1, max_size=40))
@example(texts=["341225199001011234", "34122519900101123X", "34122519900101123x", "341225********1234",
                "*341225199001011234", "34122519900101123*", "3412251990010112345",
                "12345678901234567", "电话13912345678身份证341225199001011234", None, ""])
def test_looking_at_length_first_changes_no_answer(session_db_url, texts):
    test = holds_full_id('t').replace('%', '%%')   # (psycopg's placeholders)
    sql = (f"select t, coalesce({test}, false), coalesce(t ~ '[0-9]{{17}}[0-9X]', false) "
           "from unnest(%s::text[]) as t")
    with psycopg.connect(session_db_url) as conn:
        rows = conn.execute(sql, (texts,)).fetchall()
    assert [r[1] for r in rows] == [r[2] for r in rows], rows
    assert len(rows) == len(texts)
