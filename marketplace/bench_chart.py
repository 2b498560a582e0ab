"""The policy table as a chart: each policy's profit as a share of the oracle's, per scenario.

`xiaoer bench --chart FILE` draws it after a run; `python -m marketplace.bench_chart JSON PNG` draws it
again from a saved `--json` without running anything.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

ORDER = ("agent", "rules", "noop", "platform")  # Xiaoer first, then the baselines
COLOURS = {"agent": "#2563eb", "rules": "#9ca3af", "noop": "#d1d5db", "platform": "#f59e0b"}
LABELS = {"agent": "Xiaoer (agent)", "rules": "rules (careful human)", "noop": "noop (keep settings)",
          "platform": "platform (follow suggestions)"}


def share_chart(data: Iterable[Mapping[str, Any]] | Mapping[str, Any], out: Path) -> Path:
    """A horizontal bar per policy and scenario: profit as a share of the oracle's (the dashed line, 100%).

    `data` is what `xiaoer bench --json` writes: its rows, or with several seeds `{"rows": [...], ...}`;
    then a bar is the median over the seeds and its error bar the range, min to max.
    """
    rows = data["rows"] if isinstance(data, Mapping) else data
    rows = [r for r in rows if r["policy"] != "oracle" and r.get("share_of_oracle") is not None]
    scenarios = sorted({r["scenario"] for r in rows}, reverse=True)
    policies = [p for p in ORDER if any(r["policy"] == p for r in rows)]
    policies += sorted({r["policy"] for r in rows} - set(policies))
    shares: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        shares.setdefault((r["scenario"], r["policy"]), []).append(100 * r["share_of_oracle"])
    seeds = max(map(len, shares.values()), default=1)
    height = 0.8 / max(1, len(policies))
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.75 * len(scenarios)), dpi=120)
    y = np.arange(len(scenarios))
    for k, policy in enumerate(reversed(policies)):
        runs = [np.array(shares.get((s, policy), [np.nan])) for s in scenarios]
        values = np.array([np.median(v) for v in runs])
        spread = np.array([values - [v.min() for v in runs], [v.max() for v in runs] - values]) if seeds > 1 else None
        bars = ax.barh(y - 0.4 + (k + 0.5) * height, values, height, xerr=spread, label=LABELS.get(policy, policy),
                       color=COLOURS.get(policy, "#6b7280"), error_kw={"elinewidth": 0.8, "capsize": 2})
        if policy == "agent":
            ax.bar_label(bars, fmt="%.1f%%", padding=2, fontsize=8)
    ax.axvline(100, color="#111827", linestyle="--", linewidth=1)
    ax.set_yticks(y, scenarios)
    ax.set_xlim(0, 110)
    ax.set_xlabel("profit as % of the oracle's (28 days)")
    ax.set_title("Profit against the oracle, by scenario"
                 + (f" (median of {seeds} seeds, bars min–max)" if seeds > 1 else ""))
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], loc="lower center", bbox_to_anchor=(0.5, 1.06), ncol=2,
              fontsize=8, frameon=False)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: python -m marketplace.bench_chart BENCH.json OUT.png\n")
        return 2
    share_chart(json.loads(Path(argv[0]).read_text(encoding="utf-8")), Path(argv[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
