"""The policy table as charts: each policy's profit as a share of the oracle's, per scenario or per shop.

`xiaoer bench --chart FILE` draws `share_chart` after a run; `python -m marketplace.bench_chart JSON PNG` draws
it again from a saved `--json` without running anything. bench/bench_heldout.py draws `strip_chart`.
Labels are in English and Chinese; without the CJK font (scripts/ensure-browser) they are English only.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from agent.report_charts import CJK_FAMILY, LATIN_FAMILY, cjk_font_available  # noqa: E402

ORDER = ("agent", "rules", "noop", "platform")  # Xiaoer first, then the baselines
COLOURS = {"agent": "#2563eb", "rules": "#9ca3af", "noop": "#d1d5db", "platform": "#f59e0b"}
LABELS = {"agent": "Xiaoer (agent) 店小二", "rules": "rules (careful human) 规则（谨慎的店主）",
          "noop": "noop (keep settings) 不操作（保持设置）", "platform": "platform (follow suggestions) 平台建议",
          "oracle": "oracle 上帝视角"}
# On each line of a label, the Chinese half: from its first Chinese character (or full-width mark) to the line's end.
_CJK_TEXT = re.compile(r"\s*[\u3000-\u303f\u3400-\u9fff\uff00-\uffef].*$", re.MULTILINE)
_CJK_START = re.compile(r"\s+(?=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef])")


@contextmanager
def _fonts() -> Iterator[bool]:
    """The report charts' fonts (agent.report_charts); yields whether Chinese can be drawn. Without the CJK
    font the labels go through `_say`, so no missing glyph is ever asked for."""
    cjk = cjk_font_available()
    rc: dict[Any, Any] = {"font.family": "sans-serif",  # matplotlib types its keys as a Literal of every rc name
                          "font.sans-serif": [CJK_FAMILY, LATIN_FAMILY] if cjk else [LATIN_FAMILY]}
    with matplotlib.rc_context(rc):
        yield cjk


def _say(text: str, cjk: bool) -> str:
    """A bilingual "English 中文" label as it can be drawn: without the CJK font, the English half."""
    return text if cjk else _CJK_TEXT.sub("", text)


def _two_lines(text: str) -> str:
    """A bilingual label with its Chinese half on a line of its own."""
    return _CJK_START.sub("\n", text, count=1)


def _legend(ax: Any, cjk: bool, reverse: bool = False, **kwargs: Any) -> None:
    """The legend (over the plot unless `kwargs` place it). The artists keep the full bilingual label; only the
    drawn text drops Chinese."""
    handles, labels = ax.get_legend_handles_labels()
    if reverse:
        handles, labels = handles[::-1], labels[::-1]
    place = {"loc": "lower center", "bbox_to_anchor": (0.5, 1.06), **kwargs}
    ax.legend(handles, [_say(label, cjk) for label in labels], fontsize=8, frameon=False, **place)


def _save(fig: Any, out: Path) -> Path:
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def _policies(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The policies in the rows: Xiaoer and the known baselines in `ORDER`, then any other by name."""
    names = {r["policy"] for r in rows}
    return [p for p in ORDER if p in names] + sorted(names - set(ORDER))


def share_chart(data: Iterable[Mapping[str, Any]] | Mapping[str, Any], out: Path) -> Path:
    """A horizontal bar per policy and scenario: profit as a share of the oracle's (the dashed line, 100%).

    `data` is what `xiaoer bench --json` writes: its rows, or with several seeds `{"rows": [...], ...}`;
    then a bar is the median over the seeds and its error bar the range, min to max.
    """
    rows = data["rows"] if isinstance(data, Mapping) else data
    rows = [r for r in rows if r["policy"] != "oracle" and r.get("share_of_oracle") is not None]
    scenarios = sorted({r["scenario"] for r in rows}, reverse=True)
    policies = _policies(rows)
    shares: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        shares.setdefault((r["scenario"], r["policy"]), []).append(100 * r["share_of_oracle"])
    seeds = max(map(len, shares.values()), default=1)
    height = 0.8 / max(1, len(policies))
    with _fonts() as cjk:
        fig, ax = plt.subplots(figsize=(8, 1.2 + 0.75 * len(scenarios)), dpi=120)
        y = np.arange(len(scenarios))
        for k, policy in enumerate(reversed(policies)):
            runs = [np.array(shares.get((s, policy), [np.nan])) for s in scenarios]
            values = np.array([np.median(v) for v in runs])
            spread = (np.array([values - [v.min() for v in runs], [v.max() for v in runs] - values])
                      if seeds > 1 else None)
            bars = ax.barh(y - 0.4 + (k + 0.5) * height, values, height, xerr=spread,
                           label=LABELS.get(policy, policy), color=COLOURS.get(policy, "#6b7280"),
                           error_kw={"elinewidth": 0.8, "capsize": 2})
            if policy == "agent":
                ax.bar_label(bars, fmt="%.1f%%", padding=2, fontsize=8)
        ax.axvline(100, color="#111827", linestyle="--", linewidth=1)
        ax.set_yticks(y, scenarios)
        ax.set_xlim(0, 110)
        ax.set_xlabel(_say("profit as % of the oracle's (28 days) 利润占上帝视角的百分比（28 天）", cjk))
        title = "Profit against the oracle, by scenario 各场景利润对比上帝视角"
        if seeds > 1:
            title += f"\n(median of {seeds} seeds, bars min–max) （{seeds} 个种子的中位数，误差线为最小–最大）"
        ax.set_title(_say(title, cjk))
        _legend(ax, cjk, reverse=True, ncol=2)
        return _save(fig, out)


def strip_chart(rows: Iterable[Mapping[str, Any]], out: Path, good: float = 0.85) -> Path:
    """A column of points per policy, one per shop: its profit as a share of the oracle's, the median a bar.

    `rows` are bench rows (`scenario`, `policy`, `share_of_oracle`), one scenario per shop; the dashed line
    is `good`, the share a policy should reach. The oracle (always 100%) and shops where the oracle made no
    profit (no share) are left out.
    """
    rows = [r for r in rows if r["policy"] != "oracle" and r.get("share_of_oracle") is not None]
    policies = _policies(rows)
    shops = len({r["scenario"] for r in rows})
    jitter = np.random.default_rng(0)  # spreads the points sideways, the same way every time
    with _fonts() as cjk:
        fig, ax = plt.subplots(figsize=(9, 6), dpi=120)
        for x, policy in enumerate(policies):
            shares = np.array([100 * r["share_of_oracle"] for r in rows if r["policy"] == policy])
            ax.scatter(x + jitter.uniform(-0.18, 0.18, shares.size), shares, s=22, alpha=0.8, zorder=3,
                       color=COLOURS.get(policy, "#6b7280"), edgecolors="#374151", linewidths=0.4,
                       label=LABELS.get(policy, policy))
            middle = float(np.median(shares))
            ax.hlines(middle, x - 0.3, x + 0.3, color="#111827", linewidth=2, zorder=4,
                      label="median 中位数" if x == 0 else "_median")  # "_…": once in the legend
            ax.annotate(f"{middle:.1f}%", (x + 0.32, middle), va="center", fontsize=8)
        ax.axhline(100 * good, color="#111827", linestyle="--", linewidth=1,
                   label=f"{good:.0%} of the oracle 上帝视角的 {good:.0%}")
        ax.set_xticks(range(len(policies)), [_say(_two_lines(LABELS.get(p, p)), cjk) for p in policies], fontsize=8)
        ax.set_xlim(-0.6, len(policies) - 0.4)
        ax.set_ylim(min(0.0, ax.get_ylim()[0]), max(110.0, ax.get_ylim()[1]))
        ax.set_ylabel(_say("share of the oracle's profit (%) 占上帝视角利润比例（%）", cjk))
        ax.set_title(_say(f"Held-out generated shops ({shops}): profit against the oracle\n"
                          f"留出的生成店铺（{shops} 家）：利润对比上帝视角", cjk).strip())
        _legend(ax, cjk, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.12))
        return _save(fig, out)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: python -m marketplace.bench_chart BENCH.json OUT.png\n")
        return 2
    share_chart(json.loads(Path(argv[0]).read_text(encoding="utf-8")), Path(argv[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
