"""Charts of the daily report, drawn with matplotlib as inline SVG (text as paths, so no web fonts)."""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.dates import DateFormatter, DayLocator
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

CJK_FAMILY = "WenQuanYi Micro Hei"
LATIN_FAMILY = "DejaVu Sans"  # ships with matplotlib, so it is always there
MAX_SKUS_IN_CHART = 20

_GMV, _SPEND, _PROFIT = "#2563eb", "#d97706", "#15803d"
_OK, _BELOW, _MUTED = "#15803d", "#b91c1c", "#6b7280"


def cjk_font_available() -> bool:
    """Whether matplotlib can draw Chinese with WenQuanYi Micro Hei (installed by scripts/ensure-browser)."""
    if any(f.name == CJK_FAMILY for f in font_manager.fontManager.ttflist):
        return True
    # matplotlib caches the font list on first use; a font installed later is only found on disk.
    for path in font_manager.findSystemFonts():
        if Path(path).name.lower().startswith("wqy-microhei"):
            font_manager.fontManager.addfont(path)
            return True
    return False


@contextmanager
def _style(cjk: bool) -> Iterator[None]:
    """Report chart style; a missing font or glyph falls back quietly rather than filling the log."""
    families = [CJK_FAMILY, LATIN_FAMILY] if cjk else [LATIN_FAMILY]
    rc: dict[Any, Any] = {  # matplotlib types its keys as a Literal of every rc name
        "font.family": "sans-serif",
        "font.sans-serif": families,
        "font.size": 10,
        "svg.fonttype": "path",
        "svg.hashsalt": "xiaoer-report",  # stable ids, so the same data gives the same page
        "text.parse_math": False,  # SKU codes are data: a "$" must not start mathtext
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.edgecolor": "#9ca3af",
        "axes.titlesize": 11,
        "legend.frameon": False,
    }
    fm_log = logging.getLogger("matplotlib.font_manager")
    level = fm_log.level
    fm_log.setLevel(logging.ERROR)
    try:
        with matplotlib.rc_context(rc), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
            yield
    finally:
        fm_log.setLevel(level)


def _to_svg(fig: Figure, label: str) -> str:
    """The figure as an `<svg>` element that scales to its container (no XML prolog, no fixed size)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    head, rest = svg.split(">", 1)
    head = re.sub(r'\s(width|height)="[^"]*"', "", head)
    # The label is ours (a translated chart title), but escape it anyway: it lands in an attribute.
    safe_label = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return f'{head} role="img" aria-label="{safe_label}">{rest}'


def trend_svg(
    dates: np.ndarray, gmv: np.ndarray, spend: np.ndarray, profit: np.ndarray,
    labels: Mapping[str, str], cjk: bool,
) -> str:
    """Line chart of GMV, ad + coupon spend and profit by day; `dates` are numpy datetime64[D]."""
    with _style(cjk):
        fig = Figure(figsize=(5.0, 3.0))
        ax = fig.add_subplot()
        marker = "o" if len(dates) < 10 else None
        ax.plot(dates, gmv, color=_GMV, marker=marker, markersize=3, label=labels["gmv"])
        ax.plot(dates, spend, color=_SPEND, marker=marker, markersize=3, label=labels["spend"])
        ax.plot(dates, profit, color=_PROFIT, marker=marker, markersize=3, label=labels["profit"])
        if np.min(profit) < 0:
            ax.axhline(0, color=_MUTED, linewidth=0.8)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"¥{y:,.0f}"))
        # A day grid (every k-th day) reads well from 1 to 28 days; AutoDateLocator warns on short spans.
        ax.xaxis.set_major_locator(DayLocator(interval=max(1, -(-len(dates) // 6))))
        ax.xaxis.set_major_formatter(DateFormatter("%m-%d"))
        ax.grid(axis="y", color="#e5e7eb", linewidth=0.8)
        ax.legend(loc="upper left", bbox_to_anchor=(0, 1.16), ncols=3, fontsize=9, handlelength=1.2)
        return _to_svg(fig, labels["title"])


def roi_svg(skus: list[str], roi: np.ndarray, break_even: np.ndarray, labels: Mapping[str, str], cjk: bool) -> str:
    """Horizontal bars of ROI per SKU, red below break-even, with each SKU's break-even ROI marked."""
    skus, roi, break_even = skus[:MAX_SKUS_IN_CHART], roi[:MAX_SKUS_IN_CHART], break_even[:MAX_SKUS_IN_CHART]
    with _style(cjk):
        fig = Figure(figsize=(5.0, 1.0 + 0.42 * len(skus)))
        ax = fig.add_subplot()
        y = np.arange(len(skus))
        ax.barh(y, roi, color=np.where(roi < break_even, _BELOW, _OK), height=0.6)
        ax.scatter(break_even, y, marker="|", s=380, linewidths=2, color="#111827", zorder=3,
                   label=labels["break_even"])
        ax.set_yticks(y, [s if len(s) <= 16 else s[:15] + "…" for s in skus])
        ax.invert_yaxis()
        ax.set_xlabel(labels["axis"])
        ax.set_xlim(0, max(float(np.max(roi, initial=0)), float(np.max(break_even, initial=0))) * 1.12 or 1)
        ax.grid(axis="x", color="#e5e7eb", linewidth=0.8)
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=9, handlelength=1.2)
        return _to_svg(fig, labels["title"])
