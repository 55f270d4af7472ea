"""County -> towns -> villages (12-digit codes), natural villages, and the grids cut from villages."""
from __future__ import annotations

from .common import Ctx

_SYL = list("安宝城大东丰福高光和洪黄会集建金老李刘龙鹿马庙南宁平桥三沙山石双太唐田王新杨永于张赵中朱洼郢岗")
_NAT = ["庄", "郢", "湾", "集", "楼", "台", "岗", "圩", "店", "营"]
CENTER = (32.63, 115.59)


def build_regions(ctx: Ctx) -> tuple[list[dict], list[dict]]:
    """Return (region records, village descriptors with household quota and natural villages)."""
    rng = ctx.rng("regions")
    n = ctx.households
    towns = max(2, min(15, round(n / 1333)))
    vpt = max(2, min(20, round(n / towns / 90)))
    county = ctx.county
    regions = [dict(code=county, name=ctx.county_name, level="county", parent_code=None, lat=None, lon=None)]
    villages = []
    used = set()

    def name(k: int) -> str:
        while True:
            s = "".join(rng.choice(_SYL) for _ in range(k))
            if s not in used:
                used.add(s)
                return s

    for t in range(towns):
        tcode = f"{county}{100 + t + 1:03d}"
        regions.append(dict(code=tcode, name=name(2) + ("镇" if t % 3 else "乡"), level="town", parent_code=county, lat=None, lon=None))
        for v in range(vpt):
            vcode = f"{tcode}{200 + v + 1:03d}"
            lat = round(CENTER[0] + rng.uniform(-0.25, 0.25), 6)
            lon = round(CENTER[1] + rng.uniform(-0.25, 0.25), 6)
            regions.append(dict(code=vcode, name=name(2) + "村", level="village", parent_code=tcode, lat=lat, lon=lon))
            # natural-village names only need to be unique within their village
            nats = []
            for _ in range(rng.randint(1, 4)):
                n2 = rng.choice(_SYL) + rng.choice(_NAT)
                while n2 in nats:
                    n2 = rng.choice(_SYL) + rng.choice(_NAT)
                nats.append(n2)
            villages.append(dict(code=vcode, town=tcode, lat=lat, lon=lon, naturals=nats))
    # spread households over villages as evenly as possible (deterministic)
    per, extra = divmod(n, len(villages))
    for i, v in enumerate(villages):
        v["n_households"] = per + (1 if i < extra else 0)
    for r in regions:
        r["updated_at"] = ctx.updated_at(rng, 700)
        r["is_deleted"] = False
    return regions, villages
