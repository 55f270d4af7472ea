"""Department feeds (canonical rows, before any mess): yibao, minzheng, canlian, gongan, jiaoyu, zhujian, shuili, renshe.

Rows are dicts keyed by schema keys; "_d" is the day the row belongs to (decides its file).
Clean rows never trip a rule: big bills, new 低保/特困, new severe disability, dropouts and unsafe
houses occur only in monitored households.
"""
from __future__ import annotations

from datetime import date, timedelta

from .common import Ctx, months_back
from .ids import id_birth
from .people import IdPool

HOSPITALS = ["阜南县人民医院", "阜南县中医院", "阜阳市人民医院", "安徽医科大学第一附属医院", "乡镇卫生院"]
OFFICES = ["阜南县公安局{}派出所".format(x) for x in ["城关", "王家坝", "方集", "黄岗", "朱寨", "中岗"]]
STAGE = {"小学": "小学", "初中": "初中", "高中": "高中", "中职": "中职"}


def open_case_households(cases: list[dict]) -> set[str]:
    return {c["household_id"] for c in cases if not c["is_eliminated"] and not c["is_deleted"]}


def settlement(rng, p: dict, d: date, compliant: float) -> dict:
    inpatient = rng.random() < 0.5
    admit = d - timedelta(days=rng.randint(2, 15)) if inpatient else d
    self_pay = round(compliant * rng.uniform(1.0, 1.3), 2)
    basic = round(self_pay * rng.uniform(1.5, 3.0), 2)
    serious = round(compliant * 0.3, 2) if compliant > 8000 else None
    aid = round(rng.uniform(100, 2000), 2) if rng.random() < 0.2 else None
    return dict(id=p["id_number"][:18], name=p["name"], kind="住院" if inpatient else "门诊", admit=admit, discharge=d if inpatient else None,
                total=round(self_pay + basic + (serious or 0) + (aid or 0), 2), basic=basic, serious=serious, aid=aid,
                self_pay=self_pay, compliant=round(compliant, 2), hospital=rng.choice(HOSPITALS), settle=d)


class Feeds:
    def __init__(self, ctx: Ctx, W: dict, ids: IdPool):
        self.ctx, self.W, self.ids = ctx, W, ids
        self.rows: dict[str, list[dict]] = {}
        self.rng = ctx.rng("feeds")
        self.monitored = open_case_households(W["monitoring_cases"])
        self.live = [p for p in W["persons"] if p["status"] == "正常" and not p["is_deleted"]]
        self.hh = {h["household_id"]: h for h in W["households"]}

    def add(self, folder: str, row: dict, d: date | None = None) -> dict:
        from .schema import DATE_KEY
        row["_d"] = d or row[DATE_KEY[folder]]
        self.rows.setdefault(folder, []).append(row)
        return row

    def outsider(self, rng) -> tuple[str, str, str]:
        """A person of the county who is not in the platform (fills gongan/renshe days)."""
        birth = date(1940, 1, 1) + timedelta(days=rng.randint(0, 25000))
        g = rng.choice("男女")
        return self.ids.new(birth, g), self.ctx.fake.name_male() if g == "男" else self.ctx.fake.name_female(), g

    def build(self) -> dict[str, list[dict]]:
        ctx, rng, R = self.ctx, self.rng, self.ctx.run_date
        old_cut = months_back(R, 13)  # "older than the 12-month window" with a month of margin
        persons = self.W["persons"]
        # --- yibao
        for p in self.live:
            mon = p["household_id"] in self.monitored
            if rng.random() < (0.15 if p["health_status"] in ("患大病", "长期慢性病") else 0.04):
                for _ in range(rng.randint(1, 3)):
                    amt = rng.uniform(2000, 15000) if mon and p["health_status"] == "患大病" else rng.uniform(100, 4000)
                    self.add("yibao", settlement(rng, p, ctx.day(rng.randint(0, 700)), amt))
        # --- minzheng (and the matching platform flags)
        for p in self.live:
            mon = p["household_id"] in self.monitored
            h = self.hh[p["household_id"]]
            r = rng.random()
            if p["relation_to_head"] == "户主" and ((mon and r < 0.3) or (h["household_type"] == "脱贫户" and r < 0.05)):
                kind = "农村特困" if h["household_size"] == 1 and rng.random() < 0.5 else "农村低保"
                start = ctx.day(rng.randint(6, 1500)) if mon else ctx.rand_date(rng, date(2020, 1, 1), old_cut)
                p["dibao_status" if kind == "农村低保" else "tekun_status"] = kind
                self.add("minzheng", dict(id=p["id_number"][:18], name=p["name"], kind=kind, level=rng.choice(["一档", "二档", "三档"]),
                                          amount=round(rng.uniform(300, 700), 2), start=start, end=None, status="在保"))
            elif r > 0.995:
                d = ctx.day(rng.randint(0, 500))
                self.add("minzheng", dict(id=p["id_number"][:18], name=p["name"], kind="临时救助", level=None,
                                          amount=round(rng.uniform(1000, 5000), 2), start=d, end=d, status="停保"))
        # --- canlian: certificate number = ID + category digit + grade digit
        for p in self.live:
            if p["health_status"] != "残疾":
                continue
            mon = p["household_id"] in self.monitored
            g = rng.randint(1, 4)
            issued = ctx.day(rng.randint(0, 2000))
            if not mon and g <= 2 and issued > old_cut:
                issued = ctx.rand_date(rng, date(2015, 1, 1), old_cut)
            cat = rng.randint(1, 7)
            cert = p["id_number"] + str(cat) + str(g)
            if rng.random() < 0.15:  # some persons are registered on the platform by disability certificate
                p["id_type"], p["id_number"] = "残疾人证", cert
            self.add("canlian", dict(cert=cert, name=p["name"], category="视力听力言语肢体智力精神多重"[2 * (cat - 1):2 * cat] if cat < 7 else "多重",
                                     grade="一二三四"[g - 1] + "级", issued=issued, status="有效"))
        # --- gongan: deaths of members of households that keep a living member, moves out, outsiders
        by_h: dict[str, list] = {}
        for p in persons:
            by_h.setdefault(p["household_id"], []).append(p)
        for hid in sorted(by_h):
            members = by_h[hid]
            if len(members) < 2 or self.hh[hid]["is_deleted"]:
                continue
            r = rng.random()
            if r < 0.012:
                p = rng.choice(members[1:])
                p["status"] = "自然减少"
                self.add("gongan", dict(id=p["id_number"][:18], name=p["name"], event="死亡", event_date=ctx.day(rng.randint(6, 700)), office=rng.choice(OFFICES)))
            elif r < 0.02:
                p = rng.choice(members[1:])
                p["status"] = "迁出"
                self.add("gongan", dict(id=p["id_number"][:18], name=p["name"], event="户口迁出", event_date=ctx.day(rng.randint(6, 700)), office=rng.choice(OFFICES)))
        for _ in range(max(10, ctx.households // 100)):
            idn, name, _g = self.outsider(rng)
            self.add("gongan", dict(id=idn, name=name, event=rng.choice(["死亡", "户口迁出"]), event_date=ctx.day(rng.randint(0, 700)), office=rng.choice(OFFICES)))
        # --- jiaoyu: roster of school-age students (no date column: the full roster is in the older file)
        for p in self.live:
            st = p["student_status"]
            if st not in STAGE:
                continue
            self.add("jiaoyu", self.student(rng, p, "在校" if rng.random() < 0.98 else "休学"), ctx.day(rng.randint(5, 60)))
        # --- zhujian: latest appraisal per household head
        for h in self.W["households"]:
            if rng.random() >= 0.10:
                continue
            head = next(p for p in by_h[h["household_id"]] if p["person_id"] == h["head_person_id"])
            mon = h["household_id"] in self.monitored
            grade = rng.choices("ABCD", [50, 25, 15, 10])[0]
            rebuild = rng.choice(["未改造", "改造中", "已改造"]) if (mon and grade in "CD") else ("已改造" if grade in "CD" else "未改造")
            self.add("zhujian", dict(id=head["id_number"][:18], name=head["name"], village=h["village_code"], date=ctx.day(rng.randint(0, 900)),
                                     grade=grade, rebuild=rebuild))
        # --- shuili: one check per natural village (ID empty) plus a few households
        for v in self.W["_villages"]:
            for nat in v["naturals"]:
                self.add("shuili", dict(village=v["code"], natural=nat, id=None, supply=rng.choice(["集中供水", "集中供水", "分散供水"]),
                                        quality="是", guarantee="正常", date=ctx.day(rng.randint(0, 300))))
        # --- renshe
        for p in self.live:
            if p["labor_skill"] in ("普通劳动力", "技能劳动力") and rng.random() < 0.05:
                emp = rng.random() < 0.85
                self.add("renshe", dict(id=p["id_number"][:18], name=p["name"], emp="已就业" if emp else "未就业",
                                        place=(p["work_place"] or "县内") if emp else None, income=round(rng.uniform(1800, 9000), 2) if emp else None,
                                        public="是" if emp and rng.random() < 0.1 else "否", date=ctx.day(rng.randint(0, 500))))
        self.fill_days()
        return self.rows

    def student(self, rng, p: dict, status: str) -> dict:
        age = R_age(id_birth(p["id_number"][:18]), self.ctx.run_date)
        stage = STAGE[p["student_status"]]
        grade = {"小学": max(1, min(6, age - 5)), "初中": max(1, min(3, age - 11)), "高中": max(1, min(3, age - 14)), "中职": max(1, min(3, age - 14))}[stage]
        return dict(id=p["id_number"][:18], name=p["name"], school=f"阜南县第{rng.randint(1, 9)}{'小学' if stage == '小学' else '中学'}",
                    stage=stage, grade=f"{grade}年级", status=status,
                    aid_item=rng.choice(["营养改善计划", "家庭经济困难学生生活补助", None]), aid_amount=None)

    def fill_days(self) -> None:
        """Each daily file (R-days+1..R) gets at least two rows, all benign."""
        ctx, rng = self.ctx, self.ctx.rng("fill")
        for back in range(0, ctx.days):
            d = ctx.day(back)
            for folder in ("yibao", "minzheng", "canlian", "gongan", "jiaoyu", "zhujian", "shuili", "renshe"):
                have = sum(1 for r in self.rows.get(folder, []) if r["_d"] == d)
                for _ in range(max(0, 2 - have)):
                    self.filler(folder, d, rng)

    def filler(self, folder: str, d: date, rng) -> None:
        p = rng.choice(self.live)
        if folder == "yibao":
            self.add(folder, settlement(rng, p, d, rng.uniform(100, 1500)))
        elif folder == "minzheng":
            self.add(folder, dict(id=p["id_number"][:18], name=p["name"], kind="临时救助", level=None, amount=round(rng.uniform(800, 3000), 2),
                                  start=d, end=d, status="停保"))
        elif folder == "canlian":
            idn, name, _ = self.outsider(rng)
            self.add(folder, dict(cert=idn + "43", name=name, category="肢体", grade="三级", issued=d, status="有效"))
        elif folder == "gongan":
            idn, name, _ = self.outsider(rng)
            self.add(folder, dict(id=idn, name=name, event="户口迁出", event_date=d, office=rng.choice(OFFICES)))
        elif folder == "jiaoyu":
            kids = [q for q in self.live if q["student_status"] in STAGE]
            if kids:
                self.add(folder, self.student(rng, rng.choice(kids), "在校"), d)
            else:
                idn, name, _ = self.outsider(rng)
                self.add(folder, dict(id=idn, name=name, school="阜南县第一中学", stage="初中", grade="1年级", status="在校", aid_item=None, aid_amount=None), d)
        elif folder == "zhujian":
            h = self.hh[p["household_id"]]
            head = next(q for q in self.W["persons"] if q["person_id"] == h["head_person_id"])
            self.add(folder, dict(id=head["id_number"][:18], name=head["name"], village=h["village_code"], date=d, grade="A", rebuild="未改造"))
        elif folder == "shuili":
            h = self.hh[p["household_id"]]
            head = next(q for q in self.W["persons"] if q["person_id"] == h["head_person_id"])
            self.add(folder, dict(village=h["village_code"], natural=h["natural_village"], id=head["id_number"][:18], supply="集中供水",
                                  quality="是", guarantee="正常", date=d))
        elif folder == "renshe":
            self.add(folder, dict(id=p["id_number"][:18], name=p["name"], emp="已就业", place="县内", income=round(rng.uniform(2000, 5000), 2),
                                  public="否", date=d))


def R_age(birth: date, r: date) -> int:
    return r.year - birth.year - ((r.month, r.day) < (birth.month, birth.day))
