"""Ground truth: an independent implementation of every rule in RULES.md, run on the written data.

Input: the platform records as written (JSON-decoded), the feed rows as delivered (after
redelivery replacement; unreadable rows excluded), the run date and the policy.
"""
from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, timedelta

from .common import add_months
from .ids import id_birth, id_gender, id_valid, normalise
from .schema import DEPT_FOLDERS

DEV = {"产业帮扶", "就业帮扶", "金融帮扶", "公益岗位帮扶"}
RULES = ["PAPER-01", "PAPER-02", "PAPER-03", "PAPER-04", "PAPER-05", "PAPER-06", "PAPER-07", "PAPER-08",
         "GRID-01", "GRID-02", "GRID-03", "GRID-04", "GRID-05",
         "MISS-01", "MISS-02", "MISS-03", "MISS-04", "MISS-05", "MISS-06", "MISS-07",
         "EXIT-01", "EXIT-02", "EXIT-03", "EXIT-04", "CONS-01", "CONS-02", "CONS-03",
         "ID-01", "ID-02", "ID-03", "ID-04", "FUND-01", "FUND-02", "FUND-03", "FUND-04",
         "SALE-01", "SALE-02", "SALE-03", "FRESH-01", "FRESH-02"]


def haversine_km(lat1, lon1, lat2, lon2) -> float:
    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def T(s: str) -> datetime:
    return datetime.fromisoformat(s)


def effective_feeds(delivered: list[dict], R: date) -> dict[str, list[dict]]:
    """Per folder, rows of files dated <= R in (file date, line) order; a redelivery replaces the
    landing file of the same folder and day; a refused (truncated) file contributes no row."""
    chosen: dict[tuple, dict] = {}
    for f in delivered:
        if f["date"] > R:
            continue
        k = (f["folder"], f["date"])
        if k not in chosen or f["tree"] == "landing_redelivery":
            chosen[k] = f
    out: dict[str, list[dict]] = defaultdict(list)
    for (folder, d), f in sorted(chosen.items()):
        if f.get("refused"):
            continue
        for line, row in f["rows"]:
            out[folder].append(dict(row, _file_date=d, _line=line))
    return out


def compute(P: dict[str, list[dict]], delivered: list[dict], R: date, pol: dict, fresh: bool = True) -> set[tuple[str, str]]:
    """`fresh=False`: leave out FRESH-* (they read whole files; a county's share cannot tell)."""
    out: set[tuple[str, str]] = set()
    flag = lambda rule, e: out.add((rule, e))
    F = effective_feeds(delivered, R)
    thr = {int(k): v for k, v in pol["income_threshold"].items()}
    win_lo = add_months(R, -12)  # 12-month window: win_lo < d <= R
    in_win = lambda d: d is not None and win_lo < d <= R

    hh = {h["household_id"]: h for h in P["households"] if not h["is_deleted"]}
    persons = [p for p in P["persons"] if not p["is_deleted"] and p["household_id"] in hh]
    live = [p for p in persons if p["status"] == "正常"]
    members = defaultdict(list)
    for p in persons:
        members[p["household_id"]].append(p)
    by_idn = defaultdict(list)  # normalised ID -> persons (non-deleted, live household)
    for p in persons:
        by_idn[normalise(p["id_number"])].append(p)
    visits = [v for v in P["visits"] if not v["is_deleted"] and v["household_id"] in hh]
    cases = [c for c in P["monitoring_cases"] if not c["is_deleted"] and c["household_id"] in hh]
    measures = [m for m in P["assistance_measures"] if not m["is_deleted"] and m["household_id"] in hh]
    incomes = [i for i in P["incomes"] if not i["is_deleted"] and i["household_id"] in hh]
    grids = {g["grid_id"]: g for g in P["grids"] if not g["is_deleted"]}
    workers = [w for w in P["grid_workers"] if not w["is_deleted"]]

    def eliminated(c) -> bool:
        return c["is_eliminated"] and (c["eliminated_on"] is None or date.fromisoformat(c["eliminated_on"]) <= R)

    monitored = {c["household_id"] for c in cases if not eliminated(c)}
    ever = {c["household_id"] for c in cases}
    inc_by_h = defaultdict(dict)
    for i in incomes:
        inc_by_h[i["household_id"]][i["year"]] = i

    def households_of(raw_id) -> set[str]:
        return {p["household_id"] for p in by_idn.get(normalise(raw_id), [])}

    # ---------------- PAPER
    homes = lambda v: v["mode"] == "入户"
    for v in visits:
        has_gps = v["gps_lat"] is not None and v["gps_lon"] is not None
        if homes(v) and not has_gps:
            flag("PAPER-01", v["visit_id"])
        if homes(v) and not v["photo_sha256"]:
            flag("PAPER-02", v["visit_id"])
        h = hh[v["household_id"]]
        if has_gps and h["home_lat"] is not None and h["home_lon"] is not None:
            if haversine_km(v["gps_lat"], v["gps_lon"], h["home_lat"], h["home_lon"]) > 1.0:
                flag("PAPER-03", v["visit_id"])
        if T(v["ended_at"]) - T(v["started_at"]) < timedelta(minutes=3):
            flag("PAPER-05", v["visit_id"])
    hash_h = defaultdict(set)
    for v in visits:
        for s in v["photo_sha256"] or []:
            hash_h[s].add(v["household_id"])
    for v in visits:
        if any(len(hash_h[s]) >= 2 for s in v["photo_sha256"] or []):
            flag("PAPER-04", v["visit_id"])
    by_w = defaultdict(list)
    for v in visits:
        if homes(v):
            by_w[v["worker_id"]].append(v)
    for vs in by_w.values():
        vs.sort(key=lambda v: (T(v["started_at"]), v["visit_id"]))
        for i, a in enumerate(vs):
            a_end = T(a["ended_at"])
            for b in vs[i + 1:]:
                if T(b["started_at"]) >= a_end:
                    break  # sorted by start: no later visit can start before a ends
                flag("PAPER-06", a["visit_id"]); flag("PAPER-06", b["visit_id"])
        for a, b in zip(vs, vs[1:]):
            if None in (a["gps_lat"], a["gps_lon"], b["gps_lat"], b["gps_lon"]):
                continue
            gap_h = (T(b["started_at"]) - T(a["ended_at"])).total_seconds() / 3600
            if gap_h >= 0 and haversine_km(a["gps_lat"], a["gps_lon"], b["gps_lat"], b["gps_lon"]) > 60 * gap_h:
                flag("PAPER-06", a["visit_id"]); flag("PAPER-06", b["visit_id"])
    burst = defaultdict(list)
    for v in visits:
        burst[(v["worker_id"], v["submitted_at"][:16])].append(v["visit_id"])
    for ids in burst.values():
        if len(ids) >= 10:
            for i in ids:
                flag("PAPER-07", i)
    death = {}  # normalised ID -> earliest 死亡 date
    for r in F["gongan"]:
        if r["event"] == "死亡":
            k = normalise(r["id"])
            death[k] = min(death.get(k, r["event_date"]), r["event_date"])
    for v in visits:
        ms = members.get(v["household_id"], [])
        vd = T(v["started_at"]).date()
        if ms and all(normalise(p["id_number"]) in death and death[normalise(p["id_number"])] < vd for p in ms):
            flag("PAPER-08", v["visit_id"])

    # ---------------- GRID
    in_post = [w for w in workers if w["status"] == "在岗"]
    covered = {g for w in in_post for g in w["grid_ids"]}
    for gid in grids:
        if gid not in covered:
            flag("GRID-01", gid)
    cutoff = R - timedelta(days=pol["inactive_worker_days"])
    last_visit = defaultdict(lambda: date.min)
    for v in visits:
        last_visit[v["worker_id"]] = max(last_visit[v["worker_id"]], T(v["started_at"]).date())
    for w in in_post:
        login = T(w["last_login_at"]).date() if w["last_login_at"] else date.min
        if max(login, last_visit[w["worker_id"]]) < cutoff:
            flag("GRID-02", w["worker_id"])
        if w["acknowledged_on"] is None or w["trained_on"] is None:
            flag("GRID-03", w["worker_id"])
    per_grid = defaultdict(int)
    for h in hh.values():
        if h["grid_id"] is None or h["grid_id"] not in grids:
            flag("GRID-04", h["household_id"])
        if h["grid_id"] in grids:
            per_grid[h["grid_id"]] += 1
    for gid, n in per_grid.items():
        if n > pol["max_households_per_grid"]:
            flag("GRID-05", gid)

    # ---------------- MISS
    for hid, years in inc_by_h.items():
        y = max(years)
        if y in thr and years[y]["per_capita_net_income"] is not None and years[y]["per_capita_net_income"] < thr[y] and hid not in monitored:
            flag("MISS-01", hid)
    oop = defaultdict(float)
    for r in F["yibao"]:
        if in_win(r["settle"]) and r["compliant"] is not None:
            oop[normalise(r["id"])] += r["compliant"]
    for k, s in oop.items():
        if s > pol["large_medical_oop"]:
            for hid in households_of(k) - monitored:
                flag("MISS-02", hid)
    latest_app = {}
    for r in F["zhujian"]:
        k = normalise(r["id"])
        key = (r["date"], r["_file_date"], r["_line"])
        if k not in latest_app or key > latest_app[k][0]:
            latest_app[k] = (key, r)
    for k, (_, r) in latest_app.items():
        if r["grade"] in ("C", "D") and r["rebuild"] != "已改造":
            for hid in households_of(k) - monitored:
                flag("MISS-03", hid)
    for r in F["minzheng"]:
        if r["status"] == "在保" and r["kind"] in ("农村低保", "农村特困") and in_win(r["start"]):
            for hid in households_of(r["id"]) - monitored:
                flag("MISS-04", hid)
    for r in F["canlian"]:
        if r["status"] == "有效" and r["grade"] in ("一级", "二级") and in_win(r["issued"]):
            for hid in households_of(r["cert"]) - monitored:
                flag("MISS-05", hid)
    latest_stu = {}
    for r in F["jiaoyu"]:  # rows are in (file date, line) order: the last one wins
        latest_stu[normalise(r["id"])] = r
    for k, r in latest_stu.items():
        if r["status"] in ("辍学", "疑似辍学"):
            for hid in households_of(k) - monitored:
                flag("MISS-06", hid)
    for a in P["alerts"]:
        if not a["is_deleted"] and a["verify_result"] in (None, "核实中") and date.fromisoformat(a["verify_due_on"]) < R:
            flag("MISS-07", a["alert_id"])

    # ---------------- EXIT / CONS
    m_by_h = defaultdict(list)
    for m in measures:
        m_by_h[m["household_id"]].append(m)
    for c in cases:
        hid, ident = c["household_id"], date.fromisoformat(c["identified_on"])
        if c["is_eliminated"]:
            eo = date.fromisoformat(c["eliminated_on"]) if c["eliminated_on"] else None
            if eo and eo < add_months(ident, pol["min_months_before_elimination"]):
                flag("EXIT-01", c["case_id"])
            if c["eliminate_method"] == "帮扶消除" and not m_by_h[hid]:
                flag("EXIT-02", c["case_id"])
            if eo:
                ys = [y for y in inc_by_h[hid] if y <= eo.year]
                if ys:
                    y = max(ys)
                    pc = inc_by_h[hid][y]["per_capita_net_income"]
                    if y in thr and pc is not None and pc < thr[y]:
                        flag("EXIT-03", c["case_id"])
            if hh[hid]["no_labor_household"]:
                flag("EXIT-04", c["case_id"])
        if not eliminated(c):
            if add_months(ident, 1) < R and not any(m["category"] in DEV for m in m_by_h[hid]):
                flag("CONS-01", c["case_id"])
            if "因病" in c["risk_types"]:
                ys = inc_by_h[hid]
                o = ys[max(ys)]["compliant_oop_expense"] if ys else None
                if o is None or o == 0:
                    flag("CONS-02", c["case_id"])
        if "其他" in c["risk_types"] and not (c["risk_note"] or "").strip():
            flag("CONS-03", c["case_id"])

    # ---------------- ID
    for p in persons:
        n = normalise(p["id_number"])
        if not id_valid(n):
            flag("ID-01", p["person_id"])
        elif id_birth(n).isoformat() != p["birth_date"] or id_gender(n) != p["gender"]:
            flag("ID-04", p["person_id"])
    live_by = defaultdict(list)
    for p in live:
        live_by[normalise(p["id_number"])].append(p)
    for k, ps in live_by.items():
        if k and len(ps) > 1:
            for p in ps:
                flag("ID-02", p["person_id"])
        if k in death:
            for p in ps:
                flag("ID-03", p["person_id"])

    # ---------------- FUND / SALE (latest row per key wins: rows are in file/line order)
    proj = {}
    for r in F["fund_project"]:
        proj[r["pid"].strip()] = r
    tot, ind = defaultdict(float), defaultdict(float)
    for r in proj.values():
        k = f"{r['county']}:{r['year']}"
        tot[k] += r["approved"] or 0
        if r["cat"] == "产业发展":
            ind[k] += r["approved"] or 0
    for k, t in tot.items():
        if t > 0 and ind[k] / t < pol["min_industry_share"]:
            flag("FUND-01", k)
    paid = defaultdict(float)
    for r in F["fund_payment"]:
        pid = r["pid"].strip()
        paid[pid] += r["amount"] or 0
        if pid in proj and proj[pid]["approved_on"] and r["date"] < proj[pid]["approved_on"]:
            flag("FUND-03", pid)
    for pid, s in paid.items():
        if pid in proj and s > round((proj[pid]["approved"] or 0) * 10000, 2) + 0.005:
            flag("FUND-02", pid)
    for r in F["project_beneficiary"]:
        pid, hid = r["pid"].strip(), r["hid"].strip()
        if pid in proj and proj[pid]["to_hh"] == "是" and hid in hh and hh[hid]["household_type"] != "脱贫户" and hid not in ever:
            flag("FUND-04", pid)
    sup = {r["code"].strip().upper() for r in F["consumption_supplier"]}
    prod = {}
    for r in F["consumption_product"]:
        prod[r["cert"].strip()] = r
    for k, r in prod.items():
        if r["supplier"].strip().upper() not in sup:
            flag("SALE-03", k)
    for r in F["consumption_sale"]:
        c = r["cert"].strip()
        if c not in prod:
            flag("SALE-02", r["sale"])
        elif r["date"] > prod[c]["expires"] or r["date"] < prod[c]["granted"]:
            flag("SALE-01", r["sale"])

    if fresh:
        out |= fresh_truth(delivered, R)
    return out


def fresh_truth(delivered: list[dict], R: date) -> set[tuple[str, str]]:
    """FRESH-01 (no daily department file dated the run date) and FRESH-02 over the delivered files."""
    have = {(f["folder"], f["date"]) for f in delivered}
    out = {("FRESH-01", folder) for folder in DEPT_FOLDERS if (folder, R) not in have}  # DOMAIN: daily feeds only
    return out | {("FRESH-02", e) for e in fresh02(delivered, R)}


def fresh02(delivered: list[dict], R: date) -> set[str]:
    """File names of the daily department files dated R that are below half the median row count
    of the folder's 14 previous deliveries (once there are 5), or more than 20% unreadable."""
    current: dict[tuple, dict] = {}
    for f in delivered:   # landing first, then landing_redelivery: the later delivery wins
        if f["folder"] in DEPT_FOLDERS and f["date"] <= R and not f["refused"]:
            current[(f["folder"], f["date"])] = f
    out = set()
    for (folder, day), f in current.items():
        if day != R:
            continue
        prev = sorted((d, g["rows_in"]) for (fo, d), g in current.items() if fo == folder and d < R)[-14:]
        sizes = sorted(n for _, n in prev)
        median = None
        if len(sizes) >= 5:
            mid = len(sizes) // 2
            median = sizes[mid] if len(sizes) % 2 else (sizes[mid - 1] + sizes[mid]) / 2
        rejected = f["rows_in"] - (len(f["rows"]) if f["rows"] is not None else f["rows_good"])
        if (median is not None and f["rows_in"] < median / 2) or (f["rows_in"] and rejected > 0.2 * f["rows_in"]):
            out.add(f["name"])
    return out
