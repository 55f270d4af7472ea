"""Deterministic synthetic province: platform JSONL, messy landing files, planted violations and
ground truth computed from the data (see RULES.md). Demo/test only; production never imports it."""
from __future__ import annotations

import csv
import io
import json
import shutil
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

from . import truth
from .common import Ctx
from .feeds import Feeds
from .funds import Funds
from .messy import Renderer
from .people import IdPool, build_people
from .plants import Planter, tombstones
from .platform import (
    build_alerts,
    build_cases,
    build_guarantees,
    build_incomes,
    build_measures,
    build_visits,
    build_workers,
)
from .policy import DEFAULT_POLICY, merge_policy
from .regions import build_regions
from .schema import ALL_FOLDERS, DEPT_FOLDERS, KEYS, RESOURCES

__all__ = ["generate", "DEFAULT_POLICY"]
FRESH_MISSING = ["shuili", "renshe", "consumption_supplier"]


def _world(ctx: Ctx) -> tuple[dict, Feeds, Planter | None]:
    regions, villages = build_regions(ctx)
    ids = IdPool()
    households, persons, grids = build_people(ctx, villages, ids)
    workers = build_workers(ctx, villages, grids)
    vby = {v["code"]: v for v in villages}
    cases = build_cases(ctx, households, vby)
    W = dict(regions=regions, households=households, persons=persons, grids=grids, grid_workers=workers,
             monitoring_cases=cases, _villages=villages)
    W["assistance_measures"] = build_measures(ctx, households, cases)
    W["incomes"] = build_incomes(ctx, households, cases)
    W["guarantees"] = build_guarantees(ctx, households, cases)
    W["visits"] = build_visits(ctx, households, cases, vby)
    hv = {h["household_id"]: h["village_code"] for h in households}
    W["alerts"] = build_alerts(ctx, persons, lambda p: vby[hv[p["household_id"]]]["monitor"])
    feeds = Feeds(ctx, W, ids)
    feeds.build()
    planter = None
    if not ctx.clean:
        planter = Planter(ctx, W, feeds)
        planter.run()
    W["_tombstones"] = tombstones(ctx, W, feeds, planter)
    funds = Funds(ctx, W, feeds)
    funds.build()
    W["_revised_project"] = funds.revised
    return W, feeds, planter


def _write_platform(out: Path, W: dict) -> dict[str, int]:
    d = out / "platform"
    d.mkdir(parents=True, exist_ok=True)
    counts = {}
    for res, fields in RESOURCES.items():
        recs = sorted(W[res], key=lambda r: (r["updated_at"], *[str(r[k]) for k in KEYS[res]]))
        with open(d / f"{res}.jsonl", "w", encoding="utf-8", newline="\n") as f:
            for r in recs:
                obj = {k: r[k] for k in fields}
                obj["updated_at"], obj["is_deleted"] = r["updated_at"], r["is_deleted"]
                f.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
        counts[res] = len(recs)
    return counts


def _read_platform(out: Path) -> dict[str, list[dict]]:
    P = {}
    for res in RESOURCES:
        with open(out / "platform" / f"{res}.jsonl", encoding="utf-8") as f:
            P[res] = [json.loads(line) for line in f]
    return P


def _write_csv(path: Path, header: list[str], rows) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def generate(out_dir: Path, run_date: date, seed: int = 42, households: int = 20000, clean: bool = False,
             policy: dict | None = None, days: int = 5) -> dict:
    """`days`: how many daily landing files lead up to the run date (default 5, the small demo;
    120 or more for the periodic reports' history); rows older than that land in one file."""
    if days < 5:
        raise ValueError("days must be at least 5 (the messy-file plan uses the last five days)")
    out = Path(out_dir)
    for sub in ("platform", "landing", "landing_redelivery"):
        shutil.rmtree(out / sub, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    ctx = Ctx(run_date=run_date, seed=seed, households=households, clean=clean, policy=merge_policy(policy),
              days=days)
    R = run_date
    W, feeds, planter = _world(ctx)

    # traps that are not violations: a death row the corrected redelivery withdraws, and a file dated R+1
    rng = ctx.rng("traps")
    used = planter.used_h if planter else set()
    mem = defaultdict(list)
    for p in W["persons"]:
        mem[p["household_id"]].append(p)
    safe = [h for h in W["households"] if not h["is_deleted"] and h["household_id"] not in used and len(mem[h["household_id"]]) >= 3
            and all(p["status"] == "正常" and not p["is_deleted"] and p["id_type"] == "居民身份证" for p in mem[h["household_id"]])]
    wrong_p, future_p = (mem[h["household_id"]][1] for h in rng.sample(safe, 2))
    wrong = feeds.add("gongan", dict(id=wrong_p["id_number"], name=wrong_p["name"], event="死亡", event_date=ctx.day(3), office="阜南县公安局城关派出所"), ctx.day(2))
    wrong["_withdrawn"] = True
    feeds.add("gongan", dict(id=future_p["id_number"], name=future_p["name"], event="死亡", event_date=R, office="阜南县公安局城关派出所"), R + timedelta(days=1))

    platform_counts = _write_platform(out, W)

    # group feed rows into files: older rows go to the historical file H = R-days
    H = ctx.day(days)
    files: dict[tuple[str, date], list[dict]] = defaultdict(list)
    for folder, rows in feeds.rows.items():
        for r in rows:
            d = r["_d"] if r["_d"] > H else H
            files[(folder, d)].append(r)
    if not clean:
        for folder in FRESH_MISSING:  # nothing delivered for the run date
            files[(folder, ctx.day(1))].extend(files.pop((folder, R), []))
            if folder in DEPT_FOLDERS:   # FRESH-01 expects the daily department feeds only
                ctx.plant("FRESH-01", folder, "no file dated the run date")
        ctx.plant("FRESH-02", f"yibao_{R:%Y%m%d}.csv", "one unreadable row in three (messy plan)")
    rd = Renderer(ctx, out)
    for key, spec in rd.plan.items():
        if spec.empty and key in files:  # header-only file: its rows travel a day earlier
            files[(key[0], key[1] - timedelta(days=1))].extend(files[key])
            files[key] = []
    for folder in ALL_FOLDERS:
        for back in range(days):
            k = (folder, ctx.day(back))
            if k not in files and not (not clean and folder in FRESH_MISSING and back == 0):
                files[k] = []
    for (folder, d) in sorted(files):
        rows = sorted(files[(folder, d)], key=lambda r: r["_d"])
        rows_orig = [{k: v for k, v in r.items()} for r in rows]
        rd.render(folder, d, rows_orig)
    # redeliveries: an identical copy of one file, and a corrected (withdrawn row removed) version of another
    ident_rel = f"yibao/yibao_{ctx.day(1):%Y%m%d}.csv"
    (out / "landing_redelivery" / "yibao").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out / "landing" / ident_rel, out / "landing_redelivery" / ident_rel)
    orig = next(f for f in rd.delivered if f["folder"] == "yibao" and f["date"] == ctx.day(1))
    rd.delivered.append(dict(orig, tree="landing_redelivery"))
    rd.file_rows[f"landing_redelivery/{ident_rel}"] = rd.file_rows[f"landing/{ident_rel}"]
    g = sorted((r for r in files[("gongan", ctx.day(2))] if not r.get("_withdrawn")), key=lambda r: r["_d"])
    rd.render("gongan", ctx.day(2), g, tree="landing_redelivery")
    for r in rd.rejects:
        if r[4] == "landing_redelivery":
            raise AssertionError("redelivered files carry no rejects")
    rd.case("redelivery_identical", f"landing_redelivery/{ident_rel}")
    rd.case("redelivery_corrected", f"landing_redelivery/gongan/gongan_{ctx.day(2):%Y%m%d}.csv")
    rd.case("file_dated_after_run_date", f"landing/gongan/gongan_{R + timedelta(days=1):%Y%m%d}.csv")

    # ground truth, from the data as written
    P = _read_platform(out)
    gt = truth.compute(P, rd.delivered, R, ctx.policy)
    _write_csv(out / "ground_truth.csv", ["rule_id", "entity_id"], sorted(gt))
    no_redelivery = truth.compute(P, [f for f in rd.delivered if f["tree"] == "landing"], R, ctx.policy)
    _write_csv(out / "expected_rejects.csv", ["folder", "file", "line_no", "reason_kind"],
               sorted((f, n, ln, k) for f, n, ln, k, tree in rd.rejects))
    by_rule = {r: 0 for r in truth.RULES}
    for r, _ in gt:
        by_rule[r] += 1
    manifest = dict(
        seed=seed, run_date=R.isoformat(), households=households, clean=clean, days=days,
        policy={k: ({str(y): t for y, t in v.items()} if isinstance(v, dict) else v) for k, v in ctx.policy.items()},
        county_code="341225",
        platform_counts=platform_counts,
        landing_files=dict(sorted(rd.file_rows.items())),
        historical_file_date=H.isoformat(),
        messy_cases=dict(sorted(rd.cases.items())),
        truncated_file=f"landing/zhujian/zhujian_{ctx.day(3):%Y%m%d}.csv",
        header_only_file=f"landing/canlian/canlian_{ctx.day(1):%Y%m%d}.csv",
        redeliveries=[
            dict(file=f"landing_redelivery/{ident_rel}", replaces=f"landing/{ident_rel}", kind="identical",
                 note="same bytes delivered twice: load once"),
            dict(file=f"landing_redelivery/gongan/gongan_{ctx.day(2):%Y%m%d}.csv", replaces=f"landing/gongan/gongan_{ctx.day(2):%Y%m%d}.csv",
                 kind="corrected", note="withdraws a wrong 死亡 row; the newer delivery wins (deliver landing/ first, then landing_redelivery/)",
                 withdrawn_person_id=wrong_p["person_id"]),
        ],
        truth_if_redelivery_ignored=sorted([list(x) for x in no_redelivery - gt]),
        future_files=[dict(file=f"landing/gongan/gongan_{R + timedelta(days=1):%Y%m%d}.csv", person_id=future_p["person_id"],
                           note="dated after the run date: must wait for its run (would be ID-03)")],
        missing_for_run_date=sorted(FRESH_MISSING) if not clean else [],
        expected_rejects=len(rd.rejects),
        plants=ctx.plants,
        tombstones=W["_tombstones"],
        revised_project=W["_revised_project"],
        truth_counts=by_rule,
    )
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return manifest
