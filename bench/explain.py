"""EXPLAIN ANALYZE of every dbt model's compiled SQL (read-only: each runs in a rolled-back
transaction), to find the slow and the superlinear plans at scale."""
from __future__ import annotations

import json
from pathlib import Path

import psycopg

# plan nodes whose cost grows with the product of their inputs when the inner side is big
_SUSPECT = ("Nested Loop", "SubPlan")


def _walk(plan: dict, depth: int = 0):
    yield depth, plan
    for child in plan.get("Plans", []):
        yield from _walk(child, depth + 1)


def suspect_nodes(plan: dict, min_rows: int = 10_000) -> list[str]:
    """Nested loops whose inner side is run many times over many rows."""
    found = []
    for _, node in _walk(plan):
        if node["Node Type"] == "Nested Loop" and len(node.get("Plans", [])) == 2:
            outer, inner = node["Plans"]
            work = outer.get("Actual Rows", 0) * outer.get("Actual Loops", 1) \
                * (inner.get("Actual Rows", 0) + 1)
            if work >= min_rows * 100 and inner["Node Type"] not in ("Index Scan", "Index Only Scan", "Memoize"):
                found.append(f"Nested Loop: outer {outer.get('Actual Rows')} rows × inner "
                             f"{inner['Node Type']} ({inner.get('Relation Name', '')})")
    return found


def model_sql(manifest: Path) -> dict[str, str]:
    """Model name -> compiled SQL, from a dbt manifest.json (the build's target/)."""
    nodes = json.loads(manifest.read_text())["nodes"].values()
    return {n["name"]: n["compiled_code"] for n in nodes
            if n["resource_type"] == "model" and n.get("compiled_code")}


def explain_models(url: str, manifest: Path) -> list[dict]:
    """[{model, ms, rows, suspects, plan}] slowest first."""
    out = []
    with psycopg.connect(url) as conn:
        for name, sql in sorted(model_sql(manifest).items()):
            try:
                (plan,), = conn.execute(f"explain (analyze, format json) {sql}").fetchall()
            except psycopg.Error as exc:
                conn.rollback()
                out.append({"model": name, "ms": None, "error": str(exc).splitlines()[0]})
                continue
            conn.rollback()
            top = plan[0]
            out.append({"model": name, "ms": round(top["Execution Time"], 1),
                        "rows": top["Plan"].get("Actual Rows"),
                        "suspects": suspect_nodes(top["Plan"]), "plan": top["Plan"]})
    return sorted(out, key=lambda r: -(r["ms"] or 0))


def plan_text(url: str, sql: str) -> str:
    with psycopg.connect(url) as conn:
        rows = conn.execute(f"explain (analyze, costs off, timing on) {sql}").fetchall()
        conn.rollback()
    return "\n".join(r[0] for r in rows)


if __name__ == "__main__":   # python -m bench.explain <warehouse URL> <dbt target/manifest.json>
    import sys

    for r in explain_models(sys.argv[1], Path(sys.argv[2]))[:25]:
        print(f"{r['ms']!s:>10} ms {r.get('rows')!s:>9} rows  {r['model']}  {r.get('error', '')} {r.get('suspects', '')}")
