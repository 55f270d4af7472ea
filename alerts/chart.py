"""Bar chart (PNG bytes) of open issues by town. matplotlib with the Agg backend; town names
when a font that renders Chinese is installed, town codes otherwise."""
from __future__ import annotations

import functools
import io
import logging

log = logging.getLogger(__name__)
_CJK_HINTS = ("Noto Sans CJK", "Noto Serif CJK", "Source Han", "WenQuanYi", "Droid Sans Fallback",
              "SimHei", "Microsoft YaHei", "PingFang", "AR PL", "Sarasa", "HYZhongHei")


@functools.lru_cache(maxsize=1)
def chinese_font() -> str | None:
    """Name of an installed font that renders Chinese, or None."""
    from matplotlib import font_manager

    for f in font_manager.fontManager.ttflist:
        if any(h.lower() in f.name.lower() for h in _CJK_HINTS):
            return f.name
    return None


def png(draw, **subplots) -> bytes:
    """PNG bytes of one figure: `plt.subplots(**subplots)` under the Chinese font when one is
    installed (DejaVu Sans otherwise), filled by `draw(axes)`. matplotlib's Agg backend."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    font = chinese_font()
    rc = {"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"], "axes.unicode_minus": False}
    with plt.rc_context(rc):
        fig, axes = plt.subplots(**subplots)
        try:
            draw(axes)
            fig.tight_layout()
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
            return buf.getvalue()
        finally:
            plt.close(fig)


def town_chart(towns: list[tuple[str, str, int]], title_zh: str = "各乡镇未解决问题数") -> bytes:
    """towns: (code, name, open issues). Returns PNG bytes."""
    if chinese_font():
        labels = [name or code or "未定位乡镇" for code, name, _ in towns]
        title = title_zh
    else:   # no CJK font on this machine: codes as labels, an ASCII title
        log.info("未找到中文字体，图表使用乡镇代码作标签")
        labels = [code or "unknown" for code, _, _ in towns]
        title = "Open issues by town"
    counts = [n for _, _, n in towns]

    def draw(ax) -> None:
        y = list(range(len(towns)))[::-1]
        ax.barh(y, counts, color="#c0392b")
        ax.set_yticks(y, labels)
        for yi, n in zip(y, counts):
            ax.text(n, yi, f" {n}", va="center", fontsize=9)
        ax.set_title(title)
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_xlim(0, max(counts + [1]) * 1.15)

    return png(draw, figsize=(6.4, 0.45 * max(len(towns), 2) + 1.2), dpi=100)
