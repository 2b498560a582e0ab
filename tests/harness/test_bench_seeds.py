"""`xiaoer bench --seeds N`: each scenario run on N seeds, the share of the oracle as median and range."""

import json
from pathlib import Path
from statistics import median

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure
from typer.testing import CliRunner

from marketplace import bench_chart
from marketplace.harness import bench
from xiaoer_cli import app

ROOT = Path(__file__).parents[2]
SEED = 16  # stockout.yaml's seed
runner = CliRunner()


@pytest.fixture(scope="module")
def two_seeds(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str, Path]:
    """The stockout scenario cut to 10 days, benched with noop and rules on 2 seeds."""
    tmp = tmp_path_factory.mktemp("bench")
    scenarios = tmp / "scenarios"
    scenarios.mkdir()
    text = (ROOT / "scenarios/stockout.yaml").read_text(encoding="utf-8")
    assert f"seed: {SEED}\nhorizon_days: 28\n" in text
    (scenarios / "stockout.yaml").write_text(text.replace("horizon_days: 28", "horizon_days: 10"), encoding="utf-8")
    result = runner.invoke(app, ["bench", "--scenarios", str(scenarios), "--policies", "noop,rules", "--seeds", "2",
                                 "--json", str(tmp / "rows.json"), "--md", str(tmp / "table.md")])
    assert result.exit_code == 0, result.output
    return json.loads((tmp / "rows.json").read_text(encoding="utf-8")), (tmp / "table.md").read_text(), scenarios


def test_bench_runs_each_policy_on_the_scenario_seed_and_the_next(two_seeds: tuple[dict, str, Path]) -> None:
    data, _, _ = two_seeds
    assert data["seeds"] == 2
    runs = {(r["policy"], r["seed"]): r for r in data["rows"]}
    assert sorted(runs) == sorted((p, s) for p in ("oracle", "noop", "rules") for s in (SEED, SEED + 1))
    for policy in ("oracle", "noop", "rules"):
        assert runs[(policy, SEED)]["profit"] != runs[(policy, SEED + 1)]["profit"], "another seed, another market"
    for (_, seed), r in runs.items():  # each share is against the oracle on the same seed
        assert r["share_of_oracle"] == pytest.approx(r["profit"] / runs[("oracle", seed)]["profit"], abs=6e-4)


def test_bench_first_seed_is_the_single_seed_run(two_seeds: tuple[dict, str, Path]) -> None:
    data, _, scenarios = two_seeds
    single = bench(sorted(scenarios.glob("*.yaml")), ["noop", "rules"])
    assert [(r.policy, r.profit, r.share_of_oracle) for r in single] == [
        (r["policy"], r["profit"], r["share_of_oracle"]) for r in data["rows"] if r["seed"] == SEED]


def test_bench_summary_is_the_median_and_range_of_the_seeds(two_seeds: tuple[dict, str, Path]) -> None:
    data, table, _ = two_seeds
    assert [(s["policy"], s["seeds"]) for s in data["summary"]] == [(p, [SEED, SEED + 1])
                                                                     for p in ("oracle", "noop", "rules")]
    for s in data["summary"]:
        runs = [r for r in data["rows"] if r["policy"] == s["policy"]]
        shares = [r["share_of_oracle"] for r in runs]
        assert shares[0] != shares[1] or s["policy"] == "oracle"
        assert s["share_median"] == pytest.approx((shares[0] + shares[1]) / 2)
        assert (s["share_min"], s["share_max"]) == (min(shares), max(shares))
        assert s["profit_median"] == pytest.approx(median(r["profit"] for r in runs), abs=0.01)
        assert s["outside_policy"] == [r["outside_policy"] for r in runs]
        line = (f"| stockout | {s['policy']} | {SEED}, {SEED + 1} | {s['share_median']:.1%} "
                f"({100 * s['share_min']:.1f}–{s['share_max']:.1%}) |")
        assert line in table, line
    assert f"| stockout | rules | {SEED + 1} | " in table, "the table for each seed follows the summary"


def test_bench_chart_draws_the_median_with_the_seeds_range(
    two_seeds: tuple[dict, str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, _, _ = two_seeds
    drawn: list[Figure] = []
    close = plt.close
    monkeypatch.setattr(bench_chart.plt, "close", drawn.append)
    bench_chart.share_chart(data, tmp_path / "chart.png")
    ax = drawn[0].axes[0]
    summary = {s["policy"]: s for s in data["summary"]}
    bars = {c.get_label(): c for c in ax.containers}
    for policy in ("rules", "noop"):
        bar = bars[bench_chart.LABELS[policy]]
        assert bar[0].get_width() == pytest.approx(100 * summary[policy]["share_median"])
        (x0, _), (x1, _) = bar.errorbar.lines[2][0].get_segments()[0]
        assert (x0, x1) == pytest.approx((100 * summary[policy]["share_min"], 100 * summary[policy]["share_max"]))
    close(drawn[0])
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")


def test_bench_rejects_zero_seeds() -> None:
    result = runner.invoke(app, ["bench", "--scenarios", str(ROOT / "scenarios"), "--seeds", "0"])
    assert result.exit_code == 2
    assert "--seeds" in result.output
    with pytest.raises(ValueError, match="seeds"):
        bench([ROOT / "scenarios/stockout.yaml"], ["noop"], seeds=0)
