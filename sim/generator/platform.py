"""Platform resources beyond people: grids' workers, cases, incomes, guarantees, measures, visits, alerts."""
from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

from .common import Ctx, add_months, ts

RISKS = ["因病", "因残", "因学", "因自然灾害", "因意外事故", "因产业项目失败", "因务工就业不稳", "缺劳动力", "因安全住房", "因安全饮水"]
DEV = ["产业帮扶", "就业帮扶", "金融帮扶", "公益岗位帮扶"]
OTHER_MEASURES = ["健康帮扶", "义务教育保障", "其他教育帮扶", "综合保障", "住房安全保障", "饮水安全保障", "社会帮扶", "搬迁", "生产生活条件改善", "基础设施建设"]
ITEMS = {"产业帮扶": "发展养殖业补助", "就业帮扶": "外出务工交通补贴", "金融帮扶": "小额信贷贴息", "公益岗位帮扶": "村保洁员公益岗",
         "健康帮扶": "慢病签约服务", "义务教育保障": "义务教育资助", "其他教育帮扶": "雨露计划补助", "综合保障": "纳入低保",
         "住房安全保障": "危房改造", "饮水安全保障": "入户管网改造", "社会帮扶": "结对帮扶慰问", "搬迁": "易地搬迁后续扶持",
         "生产生活条件改善": "改厨改厕", "基础设施建设": "通组道路硬化"}


def sha(*parts) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


def at(d: date, minutes: float) -> datetime:
    return datetime.combine(d, datetime.min.time()) + timedelta(minutes=minutes)


def build_workers(ctx: Ctx, villages: list[dict], grids: list[dict]) -> list[dict]:
    rng = ctx.rng("workers")
    fake, R = ctx.fake, ctx.run_date
    workers = []

    def worker(role, gids, status="在岗"):
        appointed = ctx.day(rng.randint(100, 1500))
        w = dict(worker_id=f"W{ctx.next_id('worker'):06d}", name=fake.name(), phone=fake.phone_number(), role=role,
                 grid_ids=list(gids), appointed_on=appointed.isoformat(),
                 trained_on=(appointed + timedelta(days=rng.randint(5, 60))).isoformat(),
                 acknowledged_on=(appointed + timedelta(days=rng.randint(0, 7))).isoformat(),
                 last_login_at=ts(at(ctx.day(rng.randint(0, 9) if status == "在岗" else rng.randint(60, 400)), rng.randint(420, 1320))),
                 status=status, updated_at=ctx.updated_at(rng), is_deleted=False)
        workers.append(w)
        return w

    for v in villages:
        v["grid_worker"] = {g: worker("网格员", [g])["worker_id"] for g in v["grids"]}
        v["monitor"] = worker("监测员", v["grids"])["worker_id"]
        v["helper"] = worker("帮扶责任人", [])["worker_id"]
        if rng.random() < 0.1:
            worker("网格员", [rng.choice(v["grids"])], status="离岗")
    _ = R
    return workers


def build_cases(ctx: Ctx, households: list[dict], villages_by_code: dict) -> list[dict]:
    rng = ctx.rng("cases")
    R = ctx.run_date
    cases = []
    earliest = date(2021, 3, 1)
    for h in households:
        if rng.random() >= (0.15 if h["household_type"] == "脱贫户" else 0.05):
            continue
        ident = max(earliest, ctx.day(rng.randint(5, 1800)))
        elim = None
        if not h["no_labor_household"] and add_months(ident, 8) < R and rng.random() < 0.45:
            lo = max(add_months(ident, 7), date(2024, 1, 10))
            hi = R - timedelta(days=3)
            if lo < hi:
                elim = ctx.rand_date(rng, lo, hi)
        risks = rng.sample(RISKS, rng.choice([1, 1, 2, 2, 3]))
        note = ""
        if rng.random() < 0.08:
            risks.append("其他")
            note = rng.choice(["家中老人长期卧床需照料", "子女婚嫁借债较多", "遭遇冰雹农作物绝收"])
        cat = "脱贫不稳定户" if h["household_type"] == "脱贫户" else rng.choice(["边缘易致贫户", "突发严重困难户"])
        cases.append(dict(case_id=f"C{ctx.next_id('case'):07d}", household_id=h["household_id"], monitor_category=cat,
                          identified_on=ident.isoformat(), risk_types=risks, risk_note=note,
                          discovery_channel=rng.choice(["农户自主申报", "干部排查", "部门预警"]),
                          is_eliminated=elim is not None, eliminated_on=elim.isoformat() if elim else None,
                          eliminate_method=(rng.choice(["帮扶消除"] * 6 + ["自然消除"]) if elim else None),
                          contact_worker_id=villages_by_code[h["village_code"]]["monitor"],
                          updated_at=ctx.updated_at(rng), is_deleted=False))
    return cases


def build_measures(ctx: Ctx, households: list[dict], cases: list[dict]) -> list[dict]:
    rng = ctx.rng("measures")
    measures = []
    by_h = {c["household_id"]: c for c in cases}
    for h in households:
        c = by_h.get(h["household_id"])
        if c is None and not (h["household_type"] == "脱贫户" and rng.random() < 0.3):
            continue
        start_lo = date.fromisoformat(c["identified_on"]) if c else ctx.day(900)
        cats = [rng.choice(DEV)] + rng.sample(OTHER_MEASURES, rng.randint(0, 2))
        for cat in cats:
            st = ctx.rand_date(rng, start_lo, max(start_lo, min(start_lo + timedelta(days=25), ctx.day(1))))
            measures.append(dict(measure_id=f"M{ctx.next_id('measure'):08d}", household_id=h["household_id"], person_id=None,
                                 category=cat, item=ITEMS[cat], start_date=st.isoformat(),
                                 end_date=(st + timedelta(days=365)).isoformat() if rng.random() < 0.3 else None,
                                 amount=round(rng.uniform(300, 8000), 2) if rng.random() < 0.7 else None,
                                 fund_project_id=None, updated_at=ctx.updated_at(rng), is_deleted=False))
    return measures


def income_row(ctx: Ctx, rng, h: dict, year: int, per_capita: float, oop: float) -> dict:
    size = max(1, h["household_size"])
    net = round(per_capita * size, 2)
    wage = round(net * rng.uniform(0.4, 0.7), 2)
    transfer = round(net * rng.uniform(0.1, 0.3), 2)
    prop = round(net * rng.uniform(0.0, 0.05), 2)
    expense = round(rng.uniform(0, 3000), 2)
    business = round(net - wage - transfer - prop + expense, 2)
    return dict(household_id=h["household_id"], year=year, wage_income=wage, business_income=business,
                property_income=prop, transfer_income=transfer, business_expense=expense, net_income=net,
                per_capita_net_income=round(net / size, 2), compliant_oop_expense=round(oop, 2),
                updated_at=ctx.updated_at(rng), is_deleted=False)


def build_incomes(ctx: Ctx, households: list[dict], cases: list[dict]) -> list[dict]:
    rng = ctx.rng("incomes")
    thr = ctx.policy["income_threshold"]
    by_h = {c["household_id"]: c for c in cases}
    rows = []
    for h in households:
        c = by_h.get(h["household_id"])
        for y in (2024, 2025):
            if c and not c["is_eliminated"]:
                pc = rng.uniform(3500, 9000)
            elif c:
                pc = thr[y] + rng.uniform(1200, 6000)
            else:
                pc = rng.uniform(thr[y] + 2500, 40000)
            ill = c is not None and not c["is_eliminated"] and "因病" in c["risk_types"]
            oop = rng.uniform(2000, 30000) if ill else (0 if rng.random() < 0.7 else rng.uniform(100, 3000))
            rows.append(income_row(ctx, rng, h, y, pc, oop))
    return rows


def build_guarantees(ctx: Ctx, households: list[dict], cases: list[dict]) -> list[dict]:
    rng = ctx.rng("guarantees")
    with_case = {c["household_id"] for c in cases}
    out = []
    for h in households:
        p = 0.15 if h["household_id"] in with_case else 0.01
        out.append(dict(household_id=h["household_id"], assessed_on=ctx.day(rng.randint(5, 360)).isoformat(),
                        housing_unsafe=rng.random() < p, dropout=False, water_unsafe=rng.random() < p,
                        uninsured_member=False, updated_at=ctx.updated_at(rng), is_deleted=False))
    return out


def build_visits(ctx: Ctx, households: list[dict], cases: list[dict], villages_by_code: dict) -> list[dict]:
    """Per worker, day by day, visits one after another: no overlap, >= 10 min between, short hops."""
    rng = ctx.rng("visits")
    by_h = {c["household_id"]: c for c in cases}
    plan: dict[str, list] = {}
    for h in households:
        c = by_h.get(h["household_id"])
        n = rng.randint(3, 5) if c and not c["is_eliminated"] else rng.randint(2, 3) if c else rng.choices([0, 1, 2], [2, 5, 3])[0]
        v = villages_by_code[h["village_code"]]
        for _ in range(n):
            wid = v["monitor"] if (c and rng.random() < 0.3) else v["grid_worker"][h["grid_id"]]
            d = ctx.day(rng.randint(1, 120))
            plan.setdefault(wid, []).append((d, h["household_id"], h))
    visits = []
    for wid in sorted(plan):
        items = sorted(plan[wid], key=lambda x: (x[0], x[1]))
        t_day, t = None, 0.0
        for d, hid, h in items:
            if d != t_day:
                t_day, t = d, rng.uniform(480, 560)
            mode = rng.choices(["入户", "电话", "微信"], [80, 12, 8])[0]
            dur = rng.uniform(15, 45) if mode == "入户" else rng.uniform(5, 15)
            start, end = at(d, t), at(d, t + dur)
            t += dur + rng.uniform(10, 40)
            submitted = end + timedelta(minutes=rng.uniform(1, 90))
            vid = f"V{ctx.next_id('visit'):09d}"
            c = by_h.get(hid)
            home = mode == "入户"
            visits.append(dict(
                visit_id=vid, household_id=hid, worker_id=wid,
                visit_type=rng.choices(["常规走访", "集中排查", "风险消除核查"], [80, 15, 5 if c else 0])[0],
                mode=mode, started_at=ts(start), ended_at=ts(end), submitted_at=ts(submitted),
                gps_lat=round(h["home_lat"] + rng.uniform(-0.0004, 0.0004), 6) if home else None,
                gps_lon=round(h["home_lon"] + rng.uniform(-0.0004, 0.0004), 6) if home else None,
                gps_accuracy_m=rng.randint(5, 30) if home else None,
                photo_sha256=[sha(ctx.seed, vid, k) for k in range(rng.randint(1, 3))] if home else [],
                signature_sha256=sha(ctx.seed, vid, "sig") if home else None,
                risk_found=rng.random() < 0.03, notes=rng.choice(["家庭情况稳定", "了解收入与务工情况", "核实三保障情况", "宣讲政策"]),
                updated_at=ts(submitted), is_deleted=False))
    return visits


def build_alerts(ctx: Ctx, persons: list[dict], worker_of_person) -> list[dict]:
    rng = ctx.rng("alerts")
    R = ctx.run_date
    days = ctx.policy["alert_verify_days"]
    types = {"医保": "大额医疗支出", "民政": "新纳入低保", "残联": "新增重度残疾", "公安": "家庭成员死亡", "教育": "疑似辍学",
             "住建": "住房安全鉴定C/D级", "水利": "饮水中断", "人社": "失业登记", "应急": "自然灾害受灾"}
    alerts = []
    live = [p for p in persons if p["status"] == "正常"]
    for _ in range(max(20, ctx.households // 40)):
        p = rng.choice(live)
        dept = rng.choice(sorted(types))
        pushed = at(ctx.day(rng.randint(0, 300)), rng.randint(480, 1080))
        due = pushed.date() + timedelta(days=days)
        if due < R or rng.random() < 0.5:
            result = rng.choice(["已纳入监测", "经核实无风险", "经核实无风险"])
        else:
            result = rng.choice([None, "核实中"])
        alerts.append(dict(alert_id=f"A{ctx.next_id('alert'):07d}", source_dept=dept, person_id=p["person_id"],
                           id_number=p["id_number"], warning_type=types[dept],
                           event_date=(pushed.date() - timedelta(days=rng.randint(1, 20))).isoformat(),
                           amount=round(rng.uniform(5000, 60000), 2) if dept == "医保" else None,
                           pushed_at=ts(pushed), verify_due_on=due.isoformat(), verify_result=result,
                           verified_by_worker_id=worker_of_person(p) if result and result != "核实中" else None,
                           updated_at=ts(pushed + timedelta(days=rng.randint(0, 10))) if (pushed.date() + timedelta(days=10)) < R else ts(pushed),
                           is_deleted=False))
    return alerts
