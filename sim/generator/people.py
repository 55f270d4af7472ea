"""Households and persons, with valid GB 11643 ID numbers consistent with birth date and gender."""
from __future__ import annotations

import math
from datetime import date, timedelta

from .common import COUNTY, Ctx
from .ids import make_id

_EDU = ["文盲或半文盲", "小学", "初中", "高中", "中专", "大专及以上"]


class IdPool:
    """Unique ID numbers: per birth date a sequence with the right gender parity."""

    def __init__(self, region: str = COUNTY):
        self.region = region
        self.used: set[str] = set()
        self.seq: dict[date, int] = {}

    def new(self, birth: date, gender: str) -> str:
        k = self.seq.get(birth, 0)
        while True:
            k += 1
            s = 2 * k - 1 if gender == "男" else 2 * k  # odd = male
            idn = make_id(self.region, birth, s % 1000)
            if idn not in self.used:
                self.seq[birth] = k
                self.used.add(idn)
                return idn


def _age(birth: date, r: date) -> int:
    return r.year - birth.year - ((r.month, r.day) < (birth.month, birth.day))


def _student(age: int, rng) -> str | None:
    if age < 3:
        return None
    if age <= 5:
        return "学前"
    if age <= 11:
        return "小学"
    if age <= 14:
        return "初中"
    if age <= 17:
        return rng.choice(["高中", "中职"])
    if age <= 21:
        return rng.choice(["高职高专", "本科及以上", "非在校生"])
    return None


def build_people(ctx: Ctx, villages: list[dict], ids: IdPool) -> tuple[list[dict], list[dict], list[dict]]:
    """Return (households, persons, grids). Grids: villages cut into chunks of <= 60 households."""
    rng = ctx.rng("people")
    fake = ctx.fake
    R = ctx.run_date
    households, persons, grids = [], [], []
    for v in villages:
        n = v["n_households"]
        n_grids = max(1, math.ceil(n / 60))
        vgrids = []
        for g in range(n_grids):
            gid = f"G{v['code']}{g + 1:02d}"
            vgrids.append(gid)
            grids.append(dict(grid_id=gid, village_code=v["code"], name=f"第{g + 1}网格" if n_grids > 1 else "村网格",
                              level="组级" if n_grids > 1 else "村级", updated_at=ctx.updated_at(rng, 700), is_deleted=False))
        v["grids"] = vgrids
        for i in range(n):
            hid = f"H{v['code']}{i + 1:04d}"
            size = rng.choices([1, 2, 3, 4, 5, 6], [8, 22, 25, 25, 13, 7])[0]
            head_age = rng.randint(28, 82) if size > 1 else rng.randint(55, 88)
            head_gender = "男" if rng.random() < 0.82 else "女"
            members = [("户主", head_age, head_gender)]
            if size >= 2:
                members.append(("配偶", max(20, head_age + rng.randint(-4, 3)), "女" if head_gender == "男" else "男"))
            for _ in range(size - len(members)):
                if head_age > 55 and rng.random() < 0.5:
                    members.append(("孙子女", rng.randint(1, 17), rng.choice("男女")))
                elif head_age < 50 and rng.random() < 0.25:
                    members.append(("父母", head_age + rng.randint(22, 30), rng.choice("男女")))
                else:
                    members.append(("子" if rng.random() < 0.5 else "女", max(0, head_age - rng.randint(20, 32)), ""))
            hpersons = []
            for rel, age, gender in members:
                if rel == "子":
                    gender = "男"
                elif rel == "女":
                    gender = "女"
                birth = date(R.year - age - 1, 1, 1) + timedelta(days=rng.randint(0, 364))
                age = _age(birth, R)
                health = rng.choices(["健康", "长期慢性病", "患大病", "残疾"], [80, 12 if age > 50 else 3, 2, 3])[0]
                if age < 16:
                    skill = "无劳动力"
                elif health == "残疾" or age > 75:
                    skill = rng.choice(["丧失劳动力", "弱劳动力或半劳动力"])
                elif age > 60:
                    skill = "弱劳动力或半劳动力"
                else:
                    skill = "技能劳动力" if rng.random() < 0.2 else "普通劳动力"
                working = skill in ("普通劳动力", "技能劳动力") and rng.random() < 0.75
                pid = f"P{ctx.next_id('person'):08d}"
                idn = ids.new(birth, gender)
                persons.append(dict(
                    person_id=pid, household_id=hid,
                    name=fake.last_name() + (fake.first_name_male() if gender == "男" else fake.first_name_female()),
                    gender=gender, id_type="居民身份证", id_number=idn, birth_date=birth.isoformat(),
                    relation_to_head=rel, ethnicity="汉族" if rng.random() < 0.97 else "回族",
                    education="学龄前" if age < 6 else rng.choice(_EDU[:4] if age > 40 else _EDU[1:]),
                    student_status=_student(age, rng), health_status=health, labor_skill=skill,
                    work_place=rng.choice(["县内", "县外省内", "省外"]) if working else None,
                    work_months=rng.randint(3, 12) if working else 0, med_insured=True,
                    dibao_status="未享受", tekun_status="不享受", status="正常",
                    updated_at=ctx.updated_at(rng), is_deleted=False))
                hpersons.append(persons[-1])
            gi = min(i // 60, n_grids - 1)
            htype = "脱贫户" if rng.random() < 0.35 else "一般农户"
            no_labor = not any(p["labor_skill"] in ("普通劳动力", "技能劳动力") for p in hpersons)
            households.append(dict(
                household_id=hid, village_code=v["code"], natural_village=rng.choice(v["naturals"]),
                household_type=htype, head_person_id=hpersons[0]["person_id"], household_size=len(hpersons),
                phone=fake.phone_number(),
                home_lat=round(v["lat"] + rng.uniform(-0.008, 0.008), 6), home_lon=round(v["lon"] + rng.uniform(-0.008, 0.008), 6),
                in_relocation_site=rng.random() < 0.03, no_labor_household=no_labor, grid_id=vgrids[gi],
                updated_at=ctx.updated_at(rng), is_deleted=False))
    return households, persons, grids
