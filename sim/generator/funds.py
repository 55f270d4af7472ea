"""Linkage funds (allocations, project library, payments, beneficiaries) and consumption assistance
(suppliers, certified products, sales), with their plants (FUND-*, SALE-*)."""
from __future__ import annotations

import string
from datetime import date, timedelta

from .common import Ctx

OTHER_COUNTY = "341226"  # the provincial export also carries a neighbouring county's projects
CATS = ["产业发展", "就业", "乡村建设", "巩固三保障", "搬迁后扶", "项目管理费", "其他"]
PRODUCTS = [("阜南柳编", "工艺品"), ("黄岗粉丝", "粮油"), ("王家坝大米", "粮油"), ("芦笋", "蔬菜"), ("黑木耳", "干货"),
            ("土鸡蛋", "禽蛋"), ("麻鸭", "禽肉"), ("红薯粉条", "粮油"), ("菊花茶", "茶叶"), ("黄桃罐头", "水果")]


def _uscc(rng, county: str) -> str:
    return "91" + county + "".join(rng.choice(string.digits + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(10))


class Funds:
    def __init__(self, ctx: Ctx, W: dict, feeds):
        self.ctx, self.W, self.feeds = ctx, W, feeds
        self.rng = ctx.rng("funds")
        self.projects: list[dict] = []
        self.n_proj = 0
        self.home = ctx.county
        # the first county's export also carries the neighbour's projects (the others do not,
        # so that project numbers stay unique across a city)
        self.counties = (self.home, OTHER_COUNTY) if ctx.index == 0 else (self.home,)

    def project(self, county: str, year: int, cat: str, amount: float, approved_on: date) -> dict:
        rng = self.rng
        self.n_proj += 1
        to_hh = cat == "产业发展" and rng.random() < 0.4
        p = dict(pid=f"XM{county}{year}{self.n_proj:04d}", pname=f"{year}年{rng.choice(['柳编', '大棚蔬菜', '稻虾共养', '光伏', '道路', '饮水'])}{cat}项目",
                 county=county, year=year, cat=cat, to_hh="是" if to_hh else "否", level=rng.choice(["中央", "省级", "市级", "县级"]),
                 approved=round(amount, 2), approved_on=approved_on, implementer=self.ctx.fake.company(),
                 link=rng.choice(["务工", "分红", "订单", "租金", "其他"]), plan_tp=rng.randint(5, 80), plan_mon=rng.randint(0, 20),
                 asset="到户类" if to_hh else rng.choice(["经营性", "公益性"]))
        self.projects.append(p)
        self.feeds.add("fund_project", p)
        return p

    def pay(self, p: dict, d: date, amount: float) -> None:
        self.feeds.add("fund_payment", dict(voucher=f"ZF{d:%Y%m%d}{self.ctx.next_id('voucher'):05d}", pid=p["pid"],
                                            payee=p["implementer"], date=d, amount=round(amount, 2)))

    def build(self) -> None:
        ctx, rng, R = self.ctx, self.rng, self.ctx.run_date
        years = [y for y in (R.year - 2, R.year - 1, R.year)]
        k = max(6, ctx.households // 600)
        hist = ctx.day(ctx.days)
        for county in self.counties:
            for y in years:
                lo, hi = date(y, 1, 10), min(date(y, 11, 30), hist)
                for _ in range(k):
                    self.project(county, y, rng.choices(CATS, [45, 10, 20, 10, 5, 3, 7])[0], rng.uniform(20, 500), ctx.rand_date(rng, lo, hi))
                for lv in ("中央", "省级", "市级", "县级"):
                    self.feeds.add("fund_allocation", dict(doc=f"皖财农〔{y}〕{rng.randint(10, 300)}号", level=lv, year=y, county=county,
                                                           amount=round(rng.uniform(500, 5000), 2)), ctx.rand_date(rng, lo, hi))
        for back in range(5):  # new approvals and allocations on each daily file
            d = ctx.day(back)
            self.project(self.home, R.year, "产业发展", rng.uniform(20, 80), d)
            self.feeds.add("fund_allocation", dict(doc=f"阜财农〔{R.year}〕{300 + back}号", level="县级", year=R.year, county=self.home,
                                                   amount=round(rng.uniform(50, 300), 2)), d)
        self.balance()
        # payments: <= 90% of the approved amount, never before approval
        for p in list(self.projects):
            if p["approved_on"] > ctx.day(15):
                continue
            n = rng.randint(1, 3)
            for _i in range(n):
                d = ctx.rand_date(rng, p["approved_on"] + timedelta(days=5), ctx.day(6))
                self.pay(p, d, p["approved"] * 10000 * 0.9 / n * rng.uniform(0.6, 1.0))
        paid_old = [p for p in self.projects if p["approved_on"] <= ctx.day(15)]
        for back in range(5):
            self.pay(rng.choice(paid_old), ctx.day(back), rng.uniform(1000, 5000))
        # a project revised upward later: payments exceed the first approval, not the latest (a decoy)
        p = next(p for p in paid_old if p["county"] == self.home)
        rev = dict(p, approved=round(p["approved"] * 2, 2))
        self.feeds.add("fund_project", rev, ctx.day(2))
        self.pay(p, ctx.day(3), p["approved"] * 10000 * 0.5)
        self.revised = p["pid"]
        self.beneficiaries()
        self.consumption()
        if not ctx.clean:
            self.plant()

    def balance(self) -> None:
        """Clean data keeps the industry share of every county-year at >= 55%."""
        for county in self.counties:
            for y in {p["year"] for p in self.projects}:
                ps = [p for p in self.projects if p["county"] == county and p["year"] == y]
                tot = sum(p["approved"] for p in ps)
                ind = sum(p["approved"] for p in ps if p["cat"] == "产业发展")
                if tot and ind / tot < 0.6:
                    extra = (0.6 * tot - ind) / 0.4  # x such that (ind+x)/(tot+x) = 0.6
                    self.project(county, y, "产业发展", extra + 1, min(p["approved_on"] for p in ps))

    def eligible_households(self) -> list[dict]:
        ever = {c["household_id"] for c in self.W["monitoring_cases"] if not c["is_deleted"]}
        return [h for h in self.W["households"] if not h["is_deleted"] and (h["household_type"] == "脱贫户" or h["household_id"] in ever)]

    def beneficiaries(self) -> None:
        ctx, rng = self.ctx, self.rng
        elig = self.eligible_households()
        self.to_hh = [p for p in self.projects if p["to_hh"] == "是" and p["county"] == self.home]
        if not self.to_hh:
            p = next(p for p in self.projects if p["county"] == self.home and p["cat"] == "产业发展")
            p["to_hh"], p["asset"] = "是", "到户类"
            self.to_hh = [p]
        measures_by_h = {}
        for m in self.W["assistance_measures"]:
            if m["category"] == "产业帮扶":
                measures_by_h.setdefault(m["household_id"], m)
        for p in self.to_hh:
            d = min(p["approved_on"] + timedelta(days=20), ctx.run_date)
            for h in rng.sample(elig, min(len(elig), rng.randint(5, 15))):
                self.feeds.add("project_beneficiary", dict(pid=p["pid"], hid=h["household_id"], way=rng.choice(["到户补助", "分红", "务工"]),
                                                           amount=round(rng.uniform(500, 3000), 2)), d)
                m = measures_by_h.get(h["household_id"])
                if m and m["fund_project_id"] is None:
                    m["fund_project_id"] = p["pid"]
        for back in range(5):
            p = rng.choice(self.to_hh)
            self.feeds.add("project_beneficiary", dict(pid=p["pid"], hid=rng.choice(elig)["household_id"], way="务工",
                                                       amount=round(rng.uniform(300, 1500), 2)), ctx.day(back))

    def consumption(self) -> None:
        ctx, rng, R = self.ctx, self.rng, self.ctx.run_date
        self.suppliers, self.products = [], []
        for i in range(max(15, ctx.households // 300)):
            d = ctx.day(rng.randint(400, 1500)) if i >= 5 else ctx.day(i)  # the first five arrive on the daily files
            s = dict(code=_uscc(rng, self.home), sname=ctx.fake.company(), county=self.home, is832=rng.choice(["是", "否"]),
                     kind=rng.choice(["企业", "合作社", "家庭农场", "个体户"]))
            self.feeds.add("consumption_supplier", s, d)
            self.suppliers.append((s, d))
        for s, sd in self.suppliers:
            for _ in range(rng.randint(1, 3)):
                granted = sd if sd >= ctx.day(4) else ctx.rand_date(rng, sd, ctx.day(30))
                self.new_product(s["code"], granted, rng.choice([2, 3]))
        for pr in self.products:
            end = min(pr["expires"], R)
            for _ in range(rng.randint(1, 6)):
                self.sale(pr["cert"], ctx.rand_date(rng, pr["granted"], end))
        valid = [pr for pr in self.products if pr["expires"] > R + timedelta(days=30) and pr["granted"] <= ctx.day(5)]
        for back in range(5):
            self.sale(rng.choice(valid)["cert"], ctx.day(back))

    def new_product(self, supplier: str, granted: date, years: int) -> dict:
        rng = self.rng
        name, cat = rng.choice(PRODUCTS)
        pr = dict(cert=f"RD{granted:%Y}{self.ctx.next_id('cert'):05d}", product=name, category=cat, supplier=supplier,
                  org="安徽省农业农村厅", granted=granted, expires=date(granted.year + years, granted.month, min(granted.day, 28)),
                  county=self.home, value=round(rng.uniform(5, 300), 2))
        self.feeds.add("consumption_product", pr)
        self.products.append(pr)
        return pr

    def sale(self, cert: str, d: date) -> dict:
        rng = self.rng
        qty = rng.randint(1, 500)
        return self.feeds.add("consumption_sale", dict(sale=f"XS{d:%Y%m%d}{self.ctx.next_id('sale'):06d}", cert=cert,
                                                       channel=rng.choice(["832平台", "专柜专馆", "单位采购", "直播电商", "其他"]),
                                                       buyer=self.ctx.fake.company(), date=d, qty=qty, amount=round(qty * rng.uniform(10, 80), 2)))

    def plant(self) -> None:
        ctx, rng, R = self.ctx, self.rng, self.ctx.run_date
        # FUND-01: swamp the industry share with big village-construction projects
        for county, y in ((self.home, R.year - 2), (OTHER_COUNTY, R.year - 1), (OTHER_COUNTY, R.year)):
            if county not in self.counties:
                continue
            ps = [p for p in self.projects if p["county"] == county and p["year"] == y]
            tot = sum(p["approved"] for p in ps)
            self.project(county, y, "乡村建设", tot * 1.0, ctx.rand_date(rng, date(y, 2, 1), min(date(y, 10, 1), ctx.day(20))))
            ctx.plant("FUND-01", f"{county}:{y}", "industry share ~30%")
        paid = [p for p in self.projects if p["approved_on"] <= ctx.day(40) and p["pid"] != self.revised and p["county"] == self.home]
        picks = rng.sample(paid, 6)
        for p in picks[:3]:  # FUND-02: an extra payment pushes the total to ~130% of approval
            already = sum(r["amount"] for r in self.feeds.rows["fund_payment"] if r["pid"] == p["pid"])
            self.pay(p, ctx.rand_date(rng, p["approved_on"] + timedelta(days=10), ctx.day(6)), p["approved"] * 10000 * 1.3 - already)
            ctx.plant("FUND-02", p["pid"], "paid > approved")
        for p in picks[3:]:  # FUND-03: an advance payment 20 days before approval
            self.pay(p, p["approved_on"] - timedelta(days=20), 5000)
            ctx.plant("FUND-03", p["pid"], "payment before approval")
        never = {c["household_id"] for c in self.W["monitoring_cases"] if not c["is_deleted"]}
        bad = [h for h in self.W["households"] if not h["is_deleted"] and h["household_type"] == "一般农户" and h["household_id"] not in never]
        for p, h in zip(rng.sample(self.to_hh, min(3, len(self.to_hh))), rng.sample(bad, 3)):
            self.feeds.add("project_beneficiary", dict(pid=p["pid"], hid=h["household_id"], way="到户补助", amount=1500.0),
                           min(R, p["approved_on"] + timedelta(days=25)))
            ctx.plant("FUND-04", p["pid"], f"beneficiary {h['household_id']} is 一般农户, never monitored")
        if len(self.to_hh) < 3:  # make more household-level projects so FUND-04 gets three
            for p in [p for p in self.projects if p["county"] == self.home and p["to_hh"] == "否" and p["cat"] == "产业发展" and p["pid"] != self.revised][: 3 - len(self.to_hh)]:
                p["to_hh"], p["asset"] = "是", "到户类"
                h = bad[-1 - len(ctx.plants["FUND-04"])]
                self.feeds.add("project_beneficiary", dict(pid=p["pid"], hid=h["household_id"], way="到户补助", amount=1200.0),
                               min(R, p["approved_on"] + timedelta(days=25)))
                ctx.plant("FUND-04", p["pid"], f"beneficiary {h['household_id']}")
        # SALE-01: sales after expiry / before certification
        expired = [pr for pr in self.products if pr["expires"] < ctx.day(80)]
        if len(expired) < 2:
            s = self.suppliers[-1][0]["code"]
            expired += [self.new_product(s, ctx.day(900 + i), 2) for i in range(2)]
        for pr in expired[:2]:
            sl = self.sale(pr["cert"], pr["expires"] + timedelta(days=30))
            ctx.plant("SALE-01", sl["sale"], "after expiry")
        pr = next(pr for pr in self.products if pr["granted"] < ctx.day(200) and pr["expires"] > R)
        sl = self.sale(pr["cert"], pr["granted"] - timedelta(days=40))
        ctx.plant("SALE-01", sl["sale"], "before certification")
        for i in range(3):  # SALE-02: unknown certification numbers
            sl = self.sale(f"RD{R.year - 1}9{i:04d}", ctx.day(rng.randint(10, 200)))
            ctx.plant("SALE-02", sl["sale"], "certificate not in product list")
        for _ in range(3):  # SALE-03: products of unregistered suppliers
            pr = self.new_product(_uscc(rng, self.home), ctx.day(rng.randint(60, 400)), 3)
            ctx.plant("SALE-03", pr["cert"], "supplier not in supplier list")
