"""Planted violations (platform + department feeds) and tombstones.

Plants stay away from rule boundaries (days, km, yuan) so any correct implementation agrees;
the ground truth is computed afterwards from the data, never from this list.
"""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from .common import Ctx, add_months, ts
from .ids import check_digit
from .platform import DEV, income_row, sha

DT = datetime.fromisoformat


class Planter:
    def __init__(self, ctx: Ctx, W: dict, feeds):
        self.ctx, self.W, self.feeds = ctx, W, feeds
        self.rng = ctx.rng("plants")
        self.used_h: set[str] = set()
        self.used_p: set[str] = set()
        self.used_v: set[str] = set()
        self.hh = {h["household_id"]: h for h in W["households"]}
        self.members: dict[str, list] = {}
        for p in W["persons"]:
            self.members.setdefault(p["household_id"], []).append(p)
        self.case_h = {c["household_id"] for c in W["monitoring_cases"]}
        self.v_by_w: dict[str, list] = {}
        for v in W["visits"]:
            self.v_by_w.setdefault(v["worker_id"], []).append(v)
        for vs in self.v_by_w.values():
            vs.sort(key=lambda v: (v["started_at"], v["visit_id"]))
        self.w_by_id = {w["worker_id"]: w for w in W["grid_workers"]}

    # ---------------------------------------------------------------- pickers
    def free_households(self, n: int, pred=lambda h: True) -> list[dict]:
        """Households with no case at all, not yet used by a plant, with living members."""
        pool = [h for h in self.W["households"] if h["household_id"] not in self.used_h and h["household_id"] not in self.case_h
                and not h["is_deleted"] and pred(h)
                and any(p["status"] == "正常" and p["id_type"] == "居民身份证" for p in self.members[h["household_id"]])]
        out = self.rng.sample(pool, n)
        self.used_h.update(h["household_id"] for h in out)
        return out

    def free_person(self, h: dict, pred=lambda p: True) -> dict | None:
        for p in self.members[h["household_id"]]:
            if p["status"] == "正常" and p["person_id"] not in self.used_p and p["id_type"] == "居民身份证" and pred(p):
                self.used_p.add(p["person_id"])
                return p
        return None

    def free_visits(self, n: int, pred=lambda v: True) -> list[dict]:
        pool = [v for v in self.W["visits"] if v["visit_id"] not in self.used_v and v["household_id"] not in self.used_h
                and self.w_by_id[v["worker_id"]]["role"] == "网格员" and pred(v)]
        out = self.rng.sample(pool, n)
        self.used_v.update(v["visit_id"] for v in out)
        return out

    def fresh_case(self, h: dict, ident: date, elim: date | None, risks=("因务工就业不稳",), note="", dev=True) -> dict:
        """A new case in a case-free household, clean unless the caller breaks it."""
        ctx = self.ctx
        c = dict(case_id=f"C{ctx.next_id('case'):07d}", household_id=h["household_id"], monitor_category="边缘易致贫户",
                 identified_on=ident.isoformat(), risk_types=list(risks), risk_note=note, discovery_channel="干部排查",
                 is_eliminated=elim is not None, eliminated_on=elim.isoformat() if elim else None,
                 eliminate_method="帮扶消除" if elim else None, contact_worker_id=None,
                 updated_at=ts(datetime.combine(ctx.day(3), datetime.min.time()) + timedelta(hours=10)), is_deleted=False)
        self.W["monitoring_cases"].append(c)
        self.case_h.add(h["household_id"])
        self.measure(h, "产业帮扶" if dev else "社会帮扶", ident + timedelta(days=10))
        return c

    def measure(self, h: dict, cat: str, start: date, deleted=False) -> dict:
        m = dict(measure_id=f"M{self.ctx.next_id('measure'):08d}", household_id=h["household_id"], person_id=None, category=cat,
                 item="帮扶措施", start_date=start.isoformat(), end_date=None, amount=1000.0, fund_project_id=None,
                 updated_at=ts(datetime.combine(self.ctx.day(2), datetime.min.time()) + timedelta(hours=9)), is_deleted=deleted)
        self.W["assistance_measures"].append(m)
        return m

    def set_income(self, h: dict, year: int, per_capita: float | None = None, oop: float | None = None) -> None:
        rows = self.W["incomes"]
        for i, r in enumerate(rows):
            if r["household_id"] == h["household_id"] and r["year"] == year:
                pc = r["per_capita_net_income"] if per_capita is None else per_capita
                new = income_row(self.ctx, self.rng, h, year, pc, r["compliant_oop_expense"] if oop is None else oop)
                new["updated_at"] = r["updated_at"]
                rows[i] = new

    def drop_feed_rows(self, folder: str, idn: str) -> None:
        self.feeds.rows[folder] = [r for r in self.feeds.rows.get(folder, []) if r["id"] != idn]

    # ---------------------------------------------------------------- plants
    def run(self) -> None:
        self.paper()
        self.grid()
        self.miss()
        self.exit_cons()
        self.ident()

    def paper(self) -> None:
        ctx, rng = self.ctx, self.rng
        home = lambda v: v["mode"] == "入户"
        for v in self.free_visits(3, home):
            v["gps_lat"] = v["gps_lon"] = v["gps_accuracy_m"] = None
            ctx.plant("PAPER-01", v["visit_id"])
        for v in self.free_visits(3, home):
            v["photo_sha256"] = []
            ctx.plant("PAPER-02", v["visit_id"])
        for v in self.free_visits(3, home):  # 1.5-3 km off: clearly > 1 km, too short to look like a fast trip
            d = rng.uniform(1.5, 3.0) / 111.0
            v["gps_lat"] = round(v["gps_lat"] + d, 6)
            ctx.plant("PAPER-03", v["visit_id"], "GPS ~2 km off")
        for _ in range(3):
            a, b = self.free_visits(2, home)
            if a["household_id"] == b["household_id"]:
                continue
            b["photo_sha256"] = b["photo_sha256"] + [a["photo_sha256"][0]]
            ctx.plant("PAPER-04", a["visit_id"]); ctx.plant("PAPER-04", b["visit_id"])
        for v in self.free_visits(3):
            v["ended_at"] = ts(DT(v["started_at"]).replace(tzinfo=None) + timedelta(seconds=rng.randint(40, 120)))
            ctx.plant("PAPER-05", v["visit_id"], "< 2 min")
        # PAPER-06 overlap: a second visit inside another visit of the same worker
        for a in self.free_visits(3, lambda v: home(v) and (DT(v["ended_at"]) - DT(v["started_at"])) >= timedelta(minutes=20)):
            w = a["worker_id"]
            other = next(v for v in self.v_by_w[w] if v["household_id"] != a["household_id"] and v["mode"] == "入户")
            h = self.hh[other["household_id"]]
            st, en = DT(a["started_at"]).replace(tzinfo=None) + timedelta(minutes=2), DT(a["ended_at"]).replace(tzinfo=None) - timedelta(minutes=2)
            vid = f"V{ctx.next_id('visit'):09d}"
            n = dict(a, visit_id=vid, household_id=h["household_id"], started_at=ts(st), ended_at=ts(en), submitted_at=ts(en + timedelta(minutes=5)),
                     gps_lat=round(h["home_lat"] + 0.0002, 6), gps_lon=round(h["home_lon"] - 0.0002, 6),
                     photo_sha256=[sha(ctx.seed, vid, 0)], signature_sha256=sha(ctx.seed, vid, "sig"), updated_at=ts(en + timedelta(minutes=5)))
            self.W["visits"].append(n)
            self.used_v.add(vid)
            ctx.plant("PAPER-06", a["visit_id"], "overlap"); ctx.plant("PAPER-06", vid, "overlap")
        # PAPER-06 speed: same-day consecutive visits, the second one 80 km away (also PAPER-03)
        done = 0
        for w in sorted(self.v_by_w):
            vs = [v for v in self.v_by_w[w] if v["mode"] == "入户" and v["gps_lat"] is not None]
            for a, b in zip(vs, vs[1:]):
                if done >= 2:
                    break
                if a["started_at"][:10] == b["started_at"][:10] and not {a["visit_id"], b["visit_id"]} & self.used_v and b["household_id"] not in self.used_h:
                    b["gps_lat"] = round(b["gps_lat"] + 0.72, 6)
                    self.used_v.update((a["visit_id"], b["visit_id"]))
                    ctx.plant("PAPER-06", a["visit_id"], "80 km hop"); ctx.plant("PAPER-06", b["visit_id"], "80 km hop")
                    done += 1
                    break
        # PAPER-07: 12 visits of one worker submitted in the same minute
        for w in sorted(self.v_by_w, key=lambda w: -len(self.v_by_w[w])):
            vs = [v for v in self.v_by_w[w] if v["visit_id"] not in self.used_v and v["ended_at"] < ts(datetime.combine(ctx.day(4), datetime.min.time()))]
            if len(vs) >= 12 and self.w_by_id[w]["role"] == "网格员":
                vs = vs[-12:]
                t = max(DT(v["ended_at"]).replace(tzinfo=None) for v in vs) + timedelta(hours=2)
                t = t.replace(second=0)
                for i, v in enumerate(vs):
                    v["submitted_at"] = v["updated_at"] = ts(t + timedelta(seconds=3 * i + 2))
                    self.used_v.add(v["visit_id"])
                    ctx.plant("PAPER-07", v["visit_id"], "burst")
                break
        # PAPER-08: every member dead (公安) before a visit
        k = 0
        for h in self.free_households(12, lambda h: len(self.members[h["household_id"]]) <= 2):
            vs = [v for v in self.W["visits"] if v["household_id"] == h["household_id"] and v["started_at"] >= ctx.day(100).isoformat()]
            if not vs or k >= 3:
                self.used_h.discard(h["household_id"])
                continue
            vd = date.fromisoformat(min(v["started_at"][:10] for v in vs))
            for p in self.members[h["household_id"]]:
                if k < 2:
                    p["status"] = "自然减少"
                self.used_p.add(p["person_id"])
                self.feeds.add("gongan", dict(id=p["id_number"][:18], name=p["name"], event="死亡", event_date=vd - timedelta(days=25), office="阜南县公安局城关派出所"))
            ctx.plant("PAPER-08", h["household_id"], "all members dead 25 days before the first visit" + ("" if k < 2 else "; persons still 正常 (ID-03)"))
            k += 1

    def grid(self) -> None:
        ctx, rng, W = self.ctx, self.rng, self.W
        grids = [g for g in W["grids"] if not g["is_deleted"]]
        by_grid: dict[str, list] = {}
        for h in W["households"]:
            by_grid.setdefault(h["grid_id"], []).append(h)
        gw = {w["grid_ids"][0]: w for w in W["grid_workers"] if w["role"] == "网格员" and w["status"] == "在岗"}
        picks = rng.sample(sorted(g["grid_id"] for g in grids), min(len(grids) - 1, 9))
        g01, g03 = picks[:3], picks[3:6]
        gdel = min((g["grid_id"] for g in grids if g["grid_id"] not in picks[:6]),
                   key=lambda g: (len(by_grid.get(g, [])), g))  # the smallest: few GRID-04 rows
        for gid in g01:
            gw[gid]["status"] = "离岗"
            for w in W["grid_workers"]:
                if w["role"] == "监测员" and gid in w["grid_ids"]:
                    w["grid_ids"] = [g for g in w["grid_ids"] if g != gid]
            ctx.plant("GRID-01", gid, "grid worker left, monitor no longer covers it")
        for i, gid in enumerate(g03):
            w = gw[gid]
            if i != 1:
                w["acknowledged_on"] = None
            if i != 0:
                w["trained_on"] = None
            ctx.plant("GRID-03", w["worker_id"])
        for w in rng.sample(sorted((w for w in W["grid_workers"] if w["role"] == "帮扶责任人"), key=lambda w: w["worker_id"]), 3):
            w["last_login_at"] = ts(datetime.combine(ctx.day(rng.randint(50, 80)), datetime.min.time()) + timedelta(hours=20))
            ctx.plant("GRID-02", w["worker_id"], "last login 50+ days ago, no visits")
        # GRID-04: no grid, a grid that does not exist, a deleted grid
        hs = self.free_households(3)
        hs[0]["grid_id"] = hs[1]["grid_id"] = None
        hs[2]["grid_id"] = f"G{ctx.county}999999"
        for h in hs:
            ctx.plant("GRID-04", h["household_id"])
        g = next(g for g in W["grids"] if g["grid_id"] == gdel)
        g["is_deleted"] = True
        for h in by_grid.get(gdel, []):
            self.used_h.add(h["household_id"])
            ctx.plant("GRID-04", h["household_id"], "grid deleted")
        # GRID-05: overfull grids (fewer at small scale: they need 101 households each)
        n05 = max(1, min(3, ctx.households // 400))
        targets = [gid for gid in sorted(by_grid) if gid and gid not in picks[:6] and gid != gdel][:n05]
        donors = [h for h in W["households"] if h["grid_id"] not in targets and h["grid_id"] and h["grid_id"] != gdel
                  and h["household_id"] not in self.used_h]
        for gid in targets:
            # 105+: stays above 100 even if tombstones later delete a couple of its households
            need = 105 + rng.randint(0, 5) - sum(1 for h in W["households"] if h["grid_id"] == gid)
            for h in donors[:need]:
                h["grid_id"] = gid
            donors = donors[need:]
            ctx.plant("GRID-05", gid, "105-110 households")
        self.g01 = g01

    def miss(self) -> None:
        ctx, rng, R = self.ctx, self.rng, self.ctx.run_date
        thr = ctx.policy["income_threshold"]
        for h in self.free_households(3):  # MISS-01: latest (2025) income well below the threshold
            self.set_income(h, 2025, per_capita=thr[2025] * rng.uniform(0.45, 0.7))
            ctx.plant("MISS-01", h["household_id"])
        from .feeds import settlement
        for h in self.free_households(3):  # MISS-02: two recent settlements of ~12k each
            p = self.free_person(h)
            self.feeds.add("yibao", settlement(rng, p, ctx.day(rng.randint(20, 300)), 12500))
            self.feeds.add("yibao", settlement(rng, p, ctx.day(rng.randint(20, 300)), 11000))
            ctx.plant("MISS-02", h["household_id"], "compliant OOP 23500 in 12 months")
        h = self.free_households(1)[0]  # decoy: a big bill 15 months ago is out of the window
        self.feeds.add("yibao", settlement(rng, self.free_person(h), add_months(R, -15), 30000))
        for i, h in enumerate(self.free_households(3)):  # MISS-03: head's house C/D and not rebuilt
            head = next(p for p in self.members[h["household_id"]] if p["person_id"] == h["head_person_id"])
            self.used_p.add(head["person_id"])
            self.drop_feed_rows("zhujian", head["id_number"][:18])  # so the planted appraisal is the latest
            self.feeds.add("zhujian", dict(id=head["id_number"][:18], name=head["name"], village=h["village_code"], date=ctx.day(rng.randint(30, 200)),
                                           grade="D" if i else "C", rebuild="未改造" if i != 2 else "改造中"))
            ctx.plant("MISS-03", h["household_id"])
        h = self.free_households(1)[0]  # decoy: C 未改造 then rebuilt (latest appraisal wins)
        head = next(p for p in self.members[h["household_id"]] if p["person_id"] == h["head_person_id"])
        self.feeds.add("zhujian", dict(id=head["id_number"][:18], name=head["name"], village=h["village_code"], date=ctx.day(300), grade="C", rebuild="未改造"))
        self.feeds.add("zhujian", dict(id=head["id_number"][:18], name=head["name"], village=h["village_code"], date=ctx.day(3), grade="C", rebuild="已改造"))
        for i, h in enumerate(self.free_households(3)):  # MISS-04: newly on 农村低保/特困
            p = self.free_person(h)
            kind = "农村特困" if i == 2 else "农村低保"
            p["dibao_status" if kind == "农村低保" else "tekun_status"] = kind
            self.feeds.add("minzheng", dict(id=p["id_number"][:18], name=p["name"], kind=kind, level="一档", amount=560.0,
                                            start=ctx.day(rng.randint(30, 250)), end=None, status="在保"))
            ctx.plant("MISS-04", h["household_id"])
        for i, h in enumerate(self.free_households(3)):  # MISS-05: new 一级/二级 certificate
            p = self.free_person(h)
            p["health_status"] = "残疾"
            self.feeds.add("canlian", dict(cert=p["id_number"][:18] + "4" + ("1" if i else "2"), name=p["name"], category="肢体",
                                           grade="一级" if i else "二级", issued=ctx.day(rng.randint(30, 250)), status="有效"))
            ctx.plant("MISS-05", h["household_id"])
        school = lambda p: p["student_status"] in ("小学", "初中", "高中", "中职")
        hs = self.free_households(4, lambda h: any(school(p) and p["status"] == "正常" and p["id_type"] == "居民身份证" for p in self.members[h["household_id"]]))
        from .feeds import Feeds
        for i, h in enumerate(hs):  # MISS-06: latest status 辍学/疑似辍学 (the last one is a decoy: back at school)
            p = self.free_person(h, school)
            self.drop_feed_rows("jiaoyu", p["id_number"][:18])  # so the planted status is the latest
            first = Feeds.student(self.feeds, rng, p, "在校" if i < 3 else "辍学")
            self.feeds.add("jiaoyu", first, ctx.day(40))
            later = Feeds.student(self.feeds, rng, p, ["辍学", "疑似辍学", "辍学", "在校"][i])
            self.feeds.add("jiaoyu", later, ctx.day(2 - (i % 2)))
            if i < 3:
                ctx.plant("MISS-06", h["household_id"])
        for i in range(3):  # MISS-07: overdue unverified alerts
            p = self.free_person(self.free_households(1)[0])
            pushed = datetime.combine(ctx.day(60 + 5 * i), datetime.min.time()) + timedelta(hours=9)
            a = dict(alert_id=f"A{ctx.next_id('alert'):07d}", source_dept="医保", person_id=p["person_id"], id_number=p["id_number"],
                     warning_type="大额医疗支出", event_date=(pushed.date() - timedelta(days=3)).isoformat(), amount=35000.0,
                     pushed_at=ts(pushed), verify_due_on=(pushed.date() + timedelta(days=ctx.policy["alert_verify_days"])).isoformat(),
                     verify_result=None if i < 2 else "核实中", verified_by_worker_id=None, updated_at=ts(pushed), is_deleted=False)
            self.W["alerts"].append(a)
            ctx.plant("MISS-07", a["alert_id"])

    def exit_cons(self) -> None:
        ctx, rng, _R = self.ctx, self.rng, self.ctx.run_date
        thr = ctx.policy["income_threshold"]
        hs = self.free_households(12, lambda h: not h["no_labor_household"])
        for h in hs[:3]:  # EXIT-01: eliminated 3 months after identification
            ident = ctx.day(rng.randint(200, 400))
            c = self.fresh_case(h, ident, add_months(ident, 3))
            ctx.plant("EXIT-01", c["case_id"])
        for h in hs[3:6]:  # EXIT-02: 帮扶消除 without any measure
            c = self.fresh_case(h, ctx.day(500), ctx.day(100))
            self.W["assistance_measures"] = [m for m in self.W["assistance_measures"] if m["household_id"] != h["household_id"]]
            ctx.plant("EXIT-02", c["case_id"])
        for h in hs[6:9]:  # EXIT-03: eliminated in 2025 with 2025 income below the threshold (also MISS-01)
            c = self.fresh_case(h, date(2024, 6, 1) + timedelta(days=rng.randint(0, 60)), date(2025, 9, 1) + timedelta(days=rng.randint(0, 60)))
            self.set_income(h, 2025, per_capita=thr[2025] * 0.6)
            ctx.plant("EXIT-03", c["case_id"]); ctx.plant("MISS-01", h["household_id"], "via EXIT-03 plant")
        for h in hs[9:12]:  # EXIT-04: eliminated though the household has no labour
            h["no_labor_household"] = True
            c = self.fresh_case(h, ctx.day(600), ctx.day(200))
            ctx.plant("EXIT-04", c["case_id"])
        hs = self.free_households(10)
        for h in hs[:4]:  # CONS-01 households keep no developmental measure they may have had
            self.W["assistance_measures"] = [m for m in self.W["assistance_measures"] if m["household_id"] != h["household_id"] or m["category"] not in DEV]
        for h in hs[:3]:  # CONS-01: open for months, only non-developmental measures
            c = self.fresh_case(h, ctx.day(rng.randint(70, 300)), None, dev=False)
            ctx.plant("CONS-01", c["case_id"])
        c = self.fresh_case(hs[3], ctx.day(120), None, dev=False)  # ... its only developmental measure is deleted
        self.measure(hs[3], "就业帮扶", ctx.day(100), deleted=True)
        ctx.plant("CONS-01", c["case_id"], "developmental measure is a tombstone")
        for h in hs[4:7]:  # CONS-02: 因病 with zero compliant OOP in the latest income year
            c = self.fresh_case(h, ctx.day(rng.randint(50, 300)), None, risks=("因病",))
            self.set_income(h, 2025, oop=0)
            ctx.plant("CONS-02", c["case_id"])
        for h in hs[7:10]:  # CONS-03: 其他 without a note
            c = self.fresh_case(h, ctx.day(rng.randint(50, 300)), None, risks=("因学", "其他"), note=" " if h is hs[9] else "")
            ctx.plant("CONS-03", c["case_id"])

    def ident(self) -> None:
        ctx, rng = self.ctx, self.rng
        hs = self.free_households(15, lambda h: len(self.members[h["household_id"]]) >= 2)
        ps = [self.free_person(h) for h in hs]
        for i, p in enumerate(ps[:3]):  # ID-01
            s = p["id_number"]
            if i == 0:
                s = s[:17] + ("0" if s[17] != "0" else "1")
            elif i == 1:
                body = s[:10] + "13" + s[12:17]
                s = body + check_digit(body)
            else:
                s = s[:17]
            p["id_number"] = s
            ctx.plant("ID-01", p["person_id"])
        for a, b in zip(ps[3:6], ps[6:9]):  # ID-02: b copies a's number (b's gender/birth then disagree: ID-04)
            b["id_number"] = a["id_number"]
            ctx.plant("ID-02", a["person_id"]); ctx.plant("ID-02", b["person_id"])
        for p in ps[9:12]:  # ID-03: live, but 公安 reports the death
            self.feeds.add("gongan", dict(id=p["id_number"][:18], name=p["name"], event="死亡", event_date=ctx.day(rng.randint(20, 400)), office="阜南县公安局方集派出所"))
            ctx.plant("ID-03", p["person_id"])
        for i, p in enumerate(ps[12:15]):  # ID-04
            b = date.fromisoformat(p["birth_date"])
            if i == 0:
                p["birth_date"] = b.replace(year=b.year - 1, day=min(b.day, 28)).isoformat()
            elif i == 1:
                p["gender"] = "女" if p["gender"] == "男" else "男"
            else:
                p["birth_date"] = (b + timedelta(days=3)).isoformat()
            ctx.plant("ID-04", p["person_id"])


def tombstones(ctx: Ctx, W: dict, feeds, planter: Planter | None) -> dict:
    """A few deleted records in several resources; without clean, they carry would-be violations."""
    rng = ctx.rng("tombstones")
    R, dirty = ctx.run_date, not ctx.clean
    stamp = lambda back, h: ts(datetime.combine(ctx.day(back), datetime.min.time()) + timedelta(hours=h))
    info: dict[str, list] = {}
    used = planter.used_h if planter else set()
    members: dict[str, list] = {}
    for p in W["persons"]:
        members.setdefault(p["household_id"], []).append(p)
    visited = {v["household_id"] for v in W["visits"]}
    case_h = {c["household_id"] for c in W["monitoring_cases"]}
    planted_v_h = {v["household_id"] for v in W["visits"] if planter and v["visit_id"] in planter.used_v}
    cand = [h for h in W["households"] if h["household_id"] in visited and h["household_id"] in case_h and h["household_id"] not in used
            and h["household_id"] not in planted_v_h]
    live_other = [p for p in W["persons"] if p["status"] == "正常"]
    for h in rng.sample(cand, 2):
        h["is_deleted"], h["updated_at"] = True, stamp(1, 10)
        used.add(h["household_id"])
        info.setdefault("households", []).append(h["household_id"])
        if dirty:
            h["grid_id"] = None
            for v in W["visits"]:
                if v["household_id"] == h["household_id"]:
                    v["gps_lat"] = v["gps_lon"] = None
                    v["photo_sha256"] = []
            for c in W["monitoring_cases"]:
                if c["household_id"] == h["household_id"]:
                    c["risk_types"] = c["risk_types"] + ["其他"]
                    c["risk_note"] = ""
            m = members[h["household_id"]][0]
            from .feeds import settlement
            feeds.add("yibao", settlement(rng, m, ctx.day(30), 40000))  # under m's own number, before it is overwritten
            m["id_number"] = rng.choice(live_other)["id_number"]
    for h in rng.sample([h for h in W["households"] if len(members[h["household_id"]]) >= 3 and h["household_id"] not in used and not h["is_deleted"]], 2):
        p = members[h["household_id"]][-1]
        p["is_deleted"], p["updated_at"] = True, stamp(2, 11)
        info.setdefault("persons", []).append(p["person_id"])
        if dirty:
            p["id_number"] = p["id_number"][:17]
    vs = [v for v in W["visits"] if v["household_id"] not in used and v["mode"] == "入户" and (not planter or v["visit_id"] not in planter.used_v)]
    for i, v in enumerate(rng.sample(vs, 3)):
        v["is_deleted"], v["updated_at"] = True, stamp(0, 1)
        info.setdefault("visits", []).append(v["visit_id"])
        if dirty and i == 0:
            v["gps_lat"] = v["gps_lon"] = None
        if dirty and i == 1:
            other = next(o for o in vs if o["household_id"] != v["household_id"] and o["visit_id"] not in info["visits"])
            v["photo_sha256"] = [other["photo_sha256"][0]]
    # a deleted case (dirty: eliminated after one month) in a household otherwise without a case
    h = next(h for h in W["households"] if h["household_id"] not in case_h and h["household_id"] not in used and not h["is_deleted"]
             and not h["no_labor_household"])
    used.add(h["household_id"])
    ident = ctx.day(200)
    c = dict(case_id=f"C{ctx.next_id('case'):07d}", household_id=h["household_id"], monitor_category="边缘易致贫户", identified_on=ident.isoformat(),
             risk_types=["其他"] if dirty else ["因病"], risk_note="" if dirty else "误录", discovery_channel="干部排查",
             is_eliminated=True, eliminated_on=(ident + timedelta(days=30 if dirty else 250)).isoformat(), eliminate_method="帮扶消除",
             contact_worker_id=None, updated_at=stamp(1, 9), is_deleted=True)
    W["monitoring_cases"].append(c)
    info["monitoring_cases"] = [c["case_id"]]
    m = next(m for m in W["assistance_measures"] if not m["is_deleted"] and m["category"] not in DEV)
    m["is_deleted"], m["updated_at"] = True, stamp(3, 15)
    info["assistance_measures"] = [m["measure_id"]]
    # a deleted in-post worker (dirty: the only one left on a GRID-01 grid, which stays flagged)
    gids = [planter.g01[0]] if (dirty and planter) else []
    w = dict(worker_id=f"W{ctx.next_id('worker'):06d}", name=ctx.fake.name(), phone=ctx.fake.phone_number(), role="网格员", grid_ids=gids,
             appointed_on=ctx.day(400).isoformat(), trained_on=None, acknowledged_on=None, last_login_at=None, status="在岗",
             updated_at=stamp(2, 16), is_deleted=True)
    W["grid_workers"].append(w)
    info["grid_workers"] = [w["worker_id"]]
    if not any(g["is_deleted"] for g in W["grids"]):
        vcode = W["grids"][0]["village_code"]
        g = dict(grid_id=f"G{vcode}99", village_code=vcode, name="已撤并网格", level="组级", updated_at=stamp(4, 9), is_deleted=True)
        W["grids"].append(g)
    info["grids"] = [g["grid_id"] for g in W["grids"] if g["is_deleted"]]
    p = live_other[0]
    pushed = datetime.combine(ctx.day(90), datetime.min.time()) + timedelta(hours=10)
    a = dict(alert_id=f"A{ctx.next_id('alert'):07d}", source_dept="民政", person_id=p["person_id"], id_number=p["id_number"], warning_type="新纳入低保",
             event_date=ctx.day(95).isoformat(), amount=None, pushed_at=ts(pushed), verify_due_on=(pushed.date() + timedelta(days=15)).isoformat(),
             verify_result=None if dirty else "经核实无风险", verified_by_worker_id=None, updated_at=stamp(1, 12), is_deleted=True)
    W["alerts"].append(a)
    info["alerts"] = [a["alert_id"]]
    _ = (math, R)
    return info
