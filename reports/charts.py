"""Charts for the monthly review e-mail (PNG bytes, matplotlib Agg). Chinese labels when a
CJK font is installed (alerts.chart: font finder and figure), plain codes otherwise."""
from __future__ import annotations

from alerts.chart import chinese_font, png
from expectations.catalog import FAMILY_NAMES

# the columns of rpt_monthly_review with the open findings of each family, in the catalog's order
FAMILIES = [(f"open_{f.lower()}", FAMILY_NAMES[f]) for f in ("PAPER", "GRID", "MISS", "EXIT", "CONS", "ID", "FUND", "SALE")]
COLORS = ["#c0392b", "#8e44ad", "#2980b9", "#16a085", "#f39c12", "#7f8c8d", "#d35400", "#34495e"]


def monthly_trend_chart(months: list[dict]) -> bytes:
    """Two panels over the months: monitored households with entries/exits, and open findings by family."""
    zh = bool(chinese_font())
    labels = [f"{r['review_month']:%Y-%m}" for r in months]
    x = range(len(months))

    def draw(axes) -> None:
        a1, a2 = axes
        a1.bar([i - 0.2 for i in x], [r["households_entered"] for r in months], width=0.4,
               color="#e67e22", label="新纳入" if zh else "entered")
        a1.bar([i + 0.2 for i in x], [r["households_left"] for r in months], width=0.4,
               color="#27ae60", label="风险消除" if zh else "left")
        a1b = a1.twinx()
        a1b.plot(list(x), [r["monitored_households"] for r in months], color="#2c3e50", marker="o",
                 label="监测户（月末）" if zh else "monitored")
        a1.set_xticks(list(x), labels, rotation=30, fontsize=8)
        a1.set_title("监测户进出" if zh else "Households in monitoring")
        h1, l1 = a1.get_legend_handles_labels()
        h2, l2 = a1b.get_legend_handles_labels()
        a1.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper left")
        bottom = [0] * len(months)
        for (col, name), color in zip(FAMILIES, COLORS):
            vals = [r[col] for r in months]
            a2.bar(list(x), vals, bottom=bottom, color=color, label=name if zh else col[5:].upper())
            bottom = [b + v for b, v in zip(bottom, vals)]
        a2.set_xticks(list(x), labels, rotation=30, fontsize=8)
        a2.set_title("月末未解决问题（按规则类别）" if zh else "Open findings by family")
        a2.legend(fontsize=7, ncol=2)
        for ax in (a1, a2):
            ax.spines[["top"]].set_visible(False)

    return png(draw, nrows=1, ncols=2, figsize=(10, 3.6), dpi=100)
