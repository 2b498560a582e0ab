"""The command line: simulate writes per-day results and the change log; bad input is named."""

import json
from pathlib import Path

from typer.testing import CliRunner

from marketplace import bench_chart
from xiaoer_cli import app

ROOT = Path(__file__).parents[2]
runner = CliRunner()


def test_simulate_writes_days_totals_and_change_log(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    result = runner.invoke(app, ["simulate", "--scenario", str(ROOT / "scenarios/stockout.yaml"),
                                 "--policy", "rules", "--days", "5", "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [d["day"] for d in data["days"]] == [0, 1, 2, 3, 4]
    assert set(data["totals"]) >= {"profit", "gmv", "orders", "ad_spend", "coupon_cost", "roi", "gmv_per_yuan"}
    assert data["changes"], "the rules policy changes bids, so the change log is not empty"
    assert all(c["idempotency_key"] for c in data["changes"])


def test_simulate_is_byte_identical_for_the_same_seed(tmp_path: Path) -> None:
    outs = []
    for k in range(2):
        out = tmp_path / f"run{k}.json"
        result = runner.invoke(app, ["simulate", "--scenario", str(ROOT / "scenarios/price_sensitive.yaml"),
                                     "--policy", "oracle", "--days", "6", "--json", str(out)])
        assert result.exit_code == 0, result.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_simulate_rejects_unknown_policy() -> None:
    result = runner.invoke(app, ["simulate", "--scenario", str(ROOT / "scenarios/stockout.yaml"),
                                 "--policy", "yolo"])
    assert result.exit_code == 2
    assert "--policy" in result.output and "yolo" in result.output


def test_bad_scenario_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nshops:\n  - id: s1\n    products:\n      - {sku: A, price: -3, cost: 1}\n",
                   encoding="utf-8")
    result = runner.invoke(app, ["scenario", "check", str(bad)])
    assert result.exit_code == 2
    assert "shops.0.products.0.price" in result.output


def test_public_scenarios_validate() -> None:
    files = sorted((ROOT / "scenarios").glob("*.yaml"))
    assert len(files) >= 6
    result = runner.invoke(app, ["scenario", "check", *map(str, files)])
    assert result.exit_code == 0, result.output


def test_demo_runs_the_agent_and_writes_reports_in_both_languages(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--days", "3", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "noop" in result.output and "rules" in result.output
    assert "outside the owner's limits 超出店主限额: 0" in result.output
    reports = sorted(p.name for p in (tmp_path / "demo/reports").rglob("*.html"))
    # the run on day d reports on day d-1: three runs, two finished days
    assert set(reports) == {f"2026-03-0{d}.{loc}.html" for d in (2, 3) for loc in ("en", "zh-CN")}


def test_bench_writes_the_table_its_rows_and_a_chart(tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "stockout.yaml").write_text((ROOT / "scenarios/stockout.yaml").read_text(encoding="utf-8"))
    out = tmp_path / "out"
    result = runner.invoke(app, ["bench", "--scenarios", str(scenarios), "--policies", "noop,rules",
                                 "--json", str(tmp_path / "rows.json"), "--md", str(tmp_path / "table.md"),
                                 "--chart", str(out / "policies.png")])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "rows.json").read_text(encoding="utf-8"))
    assert {(r["scenario"], r["policy"]) for r in rows} == {("stockout", p) for p in ("oracle", "noop", "rules")}
    assert all(0 < r["share_of_oracle"] <= 1.02 for r in rows)
    assert all("seed" not in r for r in rows), "one seed (the default) keeps the rows as they were before --seeds"
    table = (tmp_path / "table.md").read_text(encoding="utf-8")
    assert table.startswith("| scenario | policy | profit | share of oracle |"), "and the table too"
    png = (out / "policies.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    assert bench_chart.main([str(tmp_path / "rows.json"), str(tmp_path / "again.png")]) == 0
    assert (tmp_path / "again.png").read_bytes().startswith(b"\x89PNG")
