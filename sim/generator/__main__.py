"""CLI: python -m sim.generator --out var/sim --run-date 2026-11-28 --seed 42 --households 20000 [--days 120] [--clean]"""
from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

from . import generate


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m sim.generator", description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("var/sim"))
    ap.add_argument("--run-date", type=date.fromisoformat, required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--households", type=int, default=20000)
    ap.add_argument("--days", type=int, default=5,
                    help="daily landing files leading up to the run date (120+ for the periodic reports)")
    ap.add_argument("--clean", action="store_true", help="plant no violations (ground truth comes out empty)")
    a = ap.parse_args(argv)
    m = generate(a.out, a.run_date, seed=a.seed, households=a.households, clean=a.clean, days=a.days)
    print(json.dumps(dict(out=str(a.out), platform_counts=m["platform_counts"], truth_counts=m["truth_counts"],
                          expected_rejects=m["expected_rejects"]), ensure_ascii=False))


if __name__ == "__main__":
    main()
