"""Deterministic synthetic province: platform JSONL, messy landing files, planted violations and
ground truth computed from the data (see RULES.md). Demo/test only; production never imports it.

Generated one county at a time (at most `county_households` households each; more households make
a city of several counties): a county's world is built, written (platform records and feed rows
to a spool under the output folder), its ground truth computed, and then dropped, so memory is
bounded by one county. Landing files, which hold every county's rows, are rendered at the end one
file at a time. A single county comes out exactly as it did when the province was built at once."""
from __future__ import annotations

import csv
import heapq
import io
import json
import pickle
import shutil
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

from . import truth
from .common import COUNTY, COUNTY_NAME, Ctx
from .feeds import Feeds
from .funds import Funds
from .messy import Renderer, specs
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

__all__ = ["generate", "DEFAULT_POLICY", "COUNTY_HOUSEHOLDS"]
FRESH_MISSING = ["shuili", "renshe", "consumption_supplier"]
COUNTY_HOUSEHOLDS = 60000   # households per county; more make a city of several counties
# the counties of a city after the first (阜阳市; 341226 颍上县 stays the neighbour whose projects
# the first county's fund export carries); beyond these, numbered synthetic counties
CITY_COUNTIES = [("341221", "临泉县"), ("341222", "太和县"), ("341202", "颍州区"), ("341203", "颍东区"),
                 ("341204", "颍泉区"), ("341282", "界首市")]


def _world(ctx: Ctx) -> tuple[dict, Feeds, Planter | None]:
    regions, villages = build_regions(ctx)
    ids = IdPool(ctx.county)
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


def counties(households: int, per_county: int = COUNTY_HOUSEHOLDS) -> list[tuple[str, str, int]]:
    """(code, name, households) per county: one county up to `per_county` households, else a city."""
    n = max(1, -(-households // per_county))
    names = [(COUNTY, COUNTY_NAME), *CITY_COUNTIES]
    names += [(f"3412{90 + i:02d}", f"模拟{i + 1}县") for i in range(max(0, n - len(names)))]
    per, extra = divmod(households, n)
    return [(code, name, per + (1 if i < extra else 0)) for i, (code, name) in enumerate(names[:n])]


def _traps(ctx: Ctx, W: dict, feeds: Feeds, planter: Planter | None) -> tuple[dict, dict]:
    """Traps that are not violations: a death row the corrected redelivery withdraws, and a file dated R+1."""
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
    feeds.add("gongan", dict(id=future_p["id_number"], name=future_p["name"], event="死亡", event_date=ctx.run_date, office="阜南县公安局城关派出所"),
              ctx.run_date + timedelta(days=1))
    return wrong_p, future_p


def _platform_key(res: str):
    keys = KEYS[res]
    return lambda r: (r["updated_at"], *[str(r[k]) for k in keys])


def _write_platform(d: Path, W: dict) -> dict[str, int]:
    d.mkdir(parents=True, exist_ok=True)
    counts = {}
    for res, fields in RESOURCES.items():
        recs = sorted(W[res], key=_platform_key(res))
        with open(d / f"{res}.jsonl", "w", encoding="utf-8", newline="\n") as f:
            for r in recs:
                obj = {k: r[k] for k in fields}
                obj["updated_at"], obj["is_deleted"] = r["updated_at"], r["is_deleted"]
                f.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
        counts[res] = len(recs)
    return counts


def _merge_platform(parts: list[Path], out: Path) -> None:
    """Each resource's file: the counties' files merged in (updated_at, key) order, line by line."""
    out.mkdir(parents=True, exist_ok=True)
    for res in RESOURCES:
        if len(parts) == 1:
            shutil.move(parts[0] / f"{res}.jsonl", out / f"{res}.jsonl")
            continue
        key = _platform_key(res)
        files = [open(p / f"{res}.jsonl", encoding="utf-8") for p in parts]
        try:
            with open(out / f"{res}.jsonl", "w", encoding="utf-8", newline="\n") as f:
                f.writelines(heapq.merge(*files, key=lambda line: key(json.loads(line))))
        finally:
            for fh in files:
                fh.close()


def _read_platform(d: Path) -> dict[str, list[dict]]:
    P = {}
    for res in RESOURCES:
        with open(d / f"{res}.jsonl", encoding="utf-8") as f:
            P[res] = [json.loads(line) for line in f]
    return P


def _write_csv(path: Path, header: list[str], rows) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _files(ctx: Ctx, feeds: Feeds, plan: dict) -> dict[tuple[str, date], list[dict]]:
    """A county's feed rows grouped into the files they land in; older rows go to the historical file."""
    H, R = ctx.day(ctx.days), ctx.run_date
    files: dict[tuple[str, date], list[dict]] = defaultdict(list)
    for folder, rows in feeds.rows.items():
        for r in rows:
            d = r["_d"] if r["_d"] > H else H
            files[(folder, d)].append(r)
    if not ctx.clean:
        for folder in FRESH_MISSING:  # nothing delivered for the run date
            files[(folder, ctx.day(1))].extend(files.pop((folder, R), []))
    for key, spec in plan.items():
        if spec.empty and key in files:  # header-only file: its rows travel a day earlier
            files[(key[0], key[1] - timedelta(days=1))].extend(files[key])
            files[key] = []
    return {k: sorted(v, key=lambda r: r["_d"]) for k, v in files.items()}


class _Spool:
    """Feed rows per landing file, appended county by county (pickle frames), read back per file."""

    def __init__(self, root: Path):
        self.root = root
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        self.keys: set[tuple[str, date]] = set()

    def path(self, key: tuple[str, date]) -> Path:
        return self.root / f"{key[0]}_{key[1]:%Y%m%d}.pkl"

    def add(self, files: dict[tuple[str, date], list[dict]]) -> None:
        for key, rows in files.items():
            self.keys.add(key)
            if rows:
                with open(self.path(key), "ab") as f:
                    pickle.dump(rows, f, protocol=pickle.HIGHEST_PROTOCOL)

    def rows(self, key: tuple[str, date]) -> list[dict]:
        out: list[dict] = []
        if self.path(key).exists():
            with open(self.path(key), "rb") as f:
                while True:
                    try:
                        out += pickle.load(f)
                    except EOFError:
                        break
        return sorted(out, key=lambda r: r["_d"])   # stable: each county's order is kept


def _delivered(files: dict, plan: dict, tree: str = "landing") -> list[dict]:
    """What truth reads of a county's share of the landing files (line numbers keep the file order)."""
    out = []
    for (folder, d), rows in sorted(files.items()):
        spec = plan.get((folder, d))
        out.append(dict(folder=folder, date=d, tree=tree, rows=list(enumerate(rows, 2)),
                        refused=bool(spec and spec.truncate and rows)))
    return out


def generate(out_dir: Path, run_date: date, seed: int = 42, households: int = 20000, clean: bool = False,
             policy: dict | None = None, days: int = 5, county_households: int = COUNTY_HOUSEHOLDS) -> dict:
    """`days`: how many daily landing files lead up to the run date (default 5, the small demo;
    120 or more for the periodic reports' history); rows older than that land in one file.
    `county_households`: households per county; beyond it the province is a city of counties."""
    if days < 5:
        raise ValueError("days must be at least 5 (the messy-file plan uses the last five days)")
    out = Path(out_dir)
    for sub in ("platform", "landing", "landing_redelivery"):
        shutil.rmtree(out / sub, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    R = run_date
    pol = merge_policy(policy)
    spool = _Spool(out / ".spool")
    county_list = counties(households, county_households)
    counters: dict = {}
    plants: dict[str, list] = {}
    tomb: dict[str, list] = {}
    gt: set = set()
    no_redelivery: set = set()
    platform_counts: dict[str, int] = {}
    parts: list[Path] = []
    ctx0 = None
    for k, (code, name, n) in enumerate(county_list):
        ctx = Ctx(run_date=run_date, seed=seed, households=n, clean=clean, policy=pol, days=days,
                  county=code, county_name=name, index=k, counters=counters)
        plan = specs(ctx)
        W, feeds, planter = _world(ctx)
        if k == 0:
            ctx0, revised = ctx, W["_revised_project"]
            wrong_p, future_p = _traps(ctx, W, feeds, planter)
        parts.append(spool.root / f"platform_{k}")
        for res, c in _write_platform(parts[-1], W).items():
            platform_counts[res] = platform_counts.get(res, 0) + c
        for rule, lst in ctx.plants.items():
            plants.setdefault(rule, []).extend(lst)
        for res, lst in W["_tombstones"].items():
            tomb.setdefault(res, []).extend(lst)
        files = _files(ctx, feeds, plan)
        spool.add(files)
        del W, feeds, planter
        # the county's ground truth, from its records as written and its rows as they land
        P = _read_platform(parts[-1])
        landing = _delivered(files, plan)
        county_truth = truth.compute(P, landing, R, pol, fresh=False)
        if k == 0:
            g = [r for r in files.get(("gongan", ctx.day(2)), []) if not r.get("_withdrawn")]
            redelivered = _delivered({("yibao", ctx.day(1)): files.get(("yibao", ctx.day(1)), []),
                                      ("gongan", ctx.day(2)): g}, plan, tree="landing_redelivery")
            with_redelivery = truth.compute(P, landing + redelivered, R, pol, fresh=False)
            no_redelivery |= county_truth - with_redelivery
            county_truth = with_redelivery
        gt |= county_truth
        del P, files, landing
    ctx = ctx0
    _merge_platform(parts, out / "platform")

    # landing files, one at a time: every county's rows for that folder and day
    H = ctx.day(days)
    keys = set(spool.keys)
    if not clean:
        for folder in FRESH_MISSING:
            keys.discard((folder, R))
            if folder in DEPT_FOLDERS:   # FRESH-01 expects the daily department feeds only
                plants.setdefault("FRESH-01", []).append({"entity_id": folder, "note": "no file dated the run date"})
        plants.setdefault("FRESH-02", []).append({"entity_id": f"yibao_{R:%Y%m%d}.csv", "note": "one unreadable row in three (messy plan)"})
    for folder in ALL_FOLDERS:
        for back in range(days):
            if not (not clean and folder in FRESH_MISSING and back == 0):
                keys.add((folder, ctx.day(back)))
    rd = Renderer(ctx, out, keep_rows=False)
    for key in sorted(keys):
        rd.render(key[0], key[1], spool.rows(key))
    # redeliveries: an identical copy of one file, and a corrected (withdrawn row removed) version of another
    ident_rel = f"yibao/yibao_{ctx.day(1):%Y%m%d}.csv"
    (out / "landing_redelivery" / "yibao").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out / "landing" / ident_rel, out / "landing_redelivery" / ident_rel)
    orig = next(f for f in rd.delivered if f["folder"] == "yibao" and f["date"] == ctx.day(1))
    rd.delivered.append(dict(orig, tree="landing_redelivery"))
    rd.file_rows[f"landing_redelivery/{ident_rel}"] = rd.file_rows[f"landing/{ident_rel}"]
    g = [r for r in spool.rows(("gongan", ctx.day(2))) if not r.get("_withdrawn")]
    rd.render("gongan", ctx.day(2), g, tree="landing_redelivery")
    del g
    shutil.rmtree(spool.root)
    for r in rd.rejects:
        if r[4] == "landing_redelivery":
            raise AssertionError("redelivered files carry no rejects")
    rd.case("redelivery_identical", f"landing_redelivery/{ident_rel}")
    rd.case("redelivery_corrected", f"landing_redelivery/gongan/gongan_{ctx.day(2):%Y%m%d}.csv")
    rd.case("file_dated_after_run_date", f"landing/gongan/gongan_{R + timedelta(days=1):%Y%m%d}.csv")

    # ground truth: the counties' own, and the freshness of the files as delivered
    gt |= truth.fresh_truth(rd.delivered, R)
    _write_csv(out / "ground_truth.csv", ["rule_id", "entity_id"], sorted(gt))
    _write_csv(out / "expected_rejects.csv", ["folder", "file", "line_no", "reason_kind"],
               sorted((f, n, ln, k) for f, n, ln, k, tree in rd.rejects))
    by_rule = {r: 0 for r in truth.RULES}
    for r, _ in gt:
        by_rule[r] += 1
    manifest = dict(
        seed=seed, run_date=R.isoformat(), households=households, clean=clean, days=days,
        policy={k: ({str(y): t for y, t in v.items()} if isinstance(v, dict) else v) for k, v in pol.items()},
        county_code=COUNTY,
        **({"counties": [dict(code=c, name=nm, households=n) for c, nm, n in county_list]} if len(county_list) > 1 else {}),
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
        truth_if_redelivery_ignored=sorted([list(x) for x in no_redelivery]),
        future_files=[dict(file=f"landing/gongan/gongan_{R + timedelta(days=1):%Y%m%d}.csv", person_id=future_p["person_id"],
                           note="dated after the run date: must wait for its run (would be ID-03)")],
        missing_for_run_date=sorted(FRESH_MISSING) if not clean else [],
        expected_rejects=len(rd.rejects),
        plants=plants,
        tombstones=tomb,
        revised_project=revised,
        truth_counts=by_rule,
    )
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return manifest
