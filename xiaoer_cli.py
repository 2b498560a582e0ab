"""`xiaoer` command line: simulate and benchmark strategies, serve the simulated platform, run and serve Xiaoer."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agent.cli_db import app as db_app

app = typer.Typer(
    help="Xiaoer (店小二): a shop assistant that runs bids, budgets and coupons inside the owner's limits. "
    "店小二：在店主设定的权限内管理出价、预算和优惠券的店铺助理。",
    no_args_is_help=True,
)
platform_app = typer.Typer(help="The simulated marketplace platform. 模拟电商平台。", no_args_is_help=True)
scenario_app = typer.Typer(help="Scenario files. 场景文件。", no_args_is_help=True)
app.add_typer(platform_app, name="platform")
app.add_typer(scenario_app, name="scenario")
app.add_typer(db_app, name="db")
console = Console()

ScenarioOpt = Annotated[Path, typer.Option("--scenario", "-s", help="Scenario YAML file.", exists=True, dir_okay=False)]


@contextmanager
def _progress(total: int, label: str):
    """A progress bar over simulated days; yields the advance callback."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda days: bar.advance(task, days)


def _load(path: Path):
    from marketplace.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(path)
    except (ScenarioError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@app.command()
def simulate(
    scenario: ScenarioOpt,
    policy: Annotated[str, typer.Option(help="noop, rules, platform or oracle.")] = "rules",
    days: Annotated[int | None, typer.Option(min=1, help="Days to run (default: the scenario's horizon).")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write per-day results and the change log.")] = None,
) -> None:
    """Run one policy on one scenario through the platform API and print its totals. 在一个场景上运行一个策略。"""
    from marketplace.harness import simulate as run
    from marketplace.strategies.base import strategy_names

    if policy not in strategy_names():
        console.print(f"[red]--policy: unknown policy {policy!r}; choose one of {', '.join(strategy_names())}[/red]")
        raise typer.Exit(2)
    spec = _load(scenario)
    horizon = min(days or spec.horizon_days, spec.horizon_days)
    with _progress(horizon, f"{spec.name} · {policy}") as advance:
        result = run(spec, policy, days=horizon, progress=advance)
    table = Table(title=f"{spec.name} · {policy} · {horizon} days")
    for col in ("day", "date", "profit", "GMV", "orders", "ad spend", "coupon cost"):
        table.add_column(col, justify="right")
    for d in result.days:
        table.add_row(str(d.day), d.date, f"{d.profit:,.0f}", f"{d.gmv:,.0f}", f"{d.orders:.0f}",
                      f"{d.ad_spend:,.0f}", f"{d.coupon_cost:,.0f}")
    console.print(table)
    console.print(result.summary())
    if json_out:
        json_out.write_text(json.dumps(result.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
        console.print(f"wrote {json_out}")


@app.command()
def bench(
    scenarios: Annotated[Path, typer.Option(help="Folder of scenario YAML files.", exists=True, file_okay=False)] =
    Path("scenarios"),
    policies: Annotated[str | None, typer.Option(help="Comma-separated policies (default: all).")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the rows as JSON.")] = None,
    md_out: Annotated[Path | None, typer.Option("--md", help="Write the table as Markdown.")] = None,
    chart: Annotated[Path | None, typer.Option(help="Draw each policy's share of the oracle as a PNG chart.")] = None,
    seeds: Annotated[int, typer.Option(min=1, help="Runs per scenario: its seed, then seed+1, …; the table gives the "
                                       "median share of the oracle and its range. 每个场景的运行次数（种子依次加一），"
                                       "表中给出中位数及最小–最大范围。")] = 1,
) -> None:
    """Every policy on every scenario, each profit as a share of the oracle's. 所有策略在所有场景上的对比表。"""
    from dataclasses import asdict

    from marketplace.harness import bench as run_bench
    from marketplace.harness import bench_json, bench_markdown, scenario_files
    from marketplace.strategies.base import strategy_names

    names = policies.split(",") if policies else strategy_names()
    files = scenario_files(scenarios)
    if not files:
        console.print(f"[red]--scenarios: no *.yaml files in {scenarios}[/red]")
        raise typer.Exit(2)
    total_days = sum(_load(f).horizon_days for f in files) * len(set(names) | {"oracle"}) * seeds
    with _progress(total_days, "bench" if seeds == 1 else f"bench · {seeds} seeds / {seeds} 个种子") as advance:
        rows = run_bench(files, names, progress=advance, seeds=seeds)
    table = bench_markdown(rows)
    typer.echo(table)
    if md_out:
        md_out.write_text(table + "\n", encoding="utf-8")
    if json_out:
        json_out.write_text(json.dumps(bench_json(rows), ensure_ascii=False, indent=1), encoding="utf-8")
    if chart:
        from marketplace.bench_chart import share_chart

        share_chart([asdict(r) for r in rows], chart)


@app.command()
def demo(
    scenario: Annotated[Path, typer.Option(exists=True, dir_okay=False)] = Path("scenarios/price_sensitive.yaml"),
    days: Annotated[int, typer.Option(min=1, max=28)] = 14,
    out: Annotated[Path, typer.Option(help="Folder for reports and checkpoints.")] = Path("out/demo"),
) -> None:
    """Two weeks of Xiaoer on one simulated shop (offline, no LLM). 店小二在模拟店铺上运行两周（离线、无需大模型）。"""
    from agent.demo import run_demo

    spec = _load(scenario)
    console.print(f"[bold]{spec.name}[/bold] — {spec.description} / {spec.description_zh}")
    with _progress(days, "Xiaoer · daily runs / 每日运行") as advance:
        result = run_demo(spec, days, out, progress=advance)
    table = Table(title=f"Xiaoer on {spec.name}, {days} days / 店小二 {days} 天")
    for col in ("date\n日期", "profit\n利润", "GMV\n成交额", "ads\n广告", "coupons\n优惠券", "done\n执行",
                "denied\n拒绝", "rejected\n驳回", "failed\n失败"):
        table.add_column(col, justify="right")
    for d in result.days:
        table.add_row(d["date"][5:], f"{d['profit']:,.0f}", f"{d['gmv']:,.0f}", f"{d['ad_spend']:,.0f}",
                      f"{d['coupon_cost']:,.0f}", str(d["executed"]), str(d["denied"]), str(d["rejected"]),
                      str(d["failed"]))
    console.print(table)
    console.print(f"profit 利润: Xiaoer 店小二 ¥{result.profit:,.0f} · " + " · ".join(
        f"{name} ¥{profit:,.0f}" for name, profit in result.baselines.items()))
    outside = len(result.outside_policy)
    console.print(f"outside the owner's limits 超出店主限额: {outside} "
                  "(checked apart from the guard, from the platform's change log / 独立于守卫、按平台变更日志核对)",
                  style="green" if outside == 0 else "red")
    if result.reports:
        console.print(f"latest report 最新日报: {result.reports[-1]}")


@scenario_app.command("check")
def scenario_check(files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Validate scenario files; a bad one names the field and the reason. 校验场景文件。"""
    for f in files:
        spec = _load(f)
        skus = sum(len(s.products) for s in spec.shops)
        console.print(f"{f}: ok ({len(spec.shops)} shop(s), {skus} SKUs, {spec.horizon_days} days)")


@platform_app.command("serve")
def platform_serve(
    scenario: ScenarioOpt,
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8700,
    host: str = "127.0.0.1",
) -> None:
    """Serve the simulated platform over HTTP (admin token from XIAOER_PLATFORM_ADMIN_TOKEN). 启动模拟平台。"""
    from marketplace.api import serve

    serve(scenario, port=port, host=host)


def _wire_run() -> None:
    from agent.cli_run import run_command

    app.command("run")(run_command)


def _wire_serve() -> None:
    from agent.cli_serve import serve_command

    app.command("serve")(serve_command)


def _wire_worker() -> None:
    from agent.cli_worker import worker_command

    app.command("worker")(worker_command)


def _wire_generator() -> None:
    try:
        from marketplace.generator import app as generator_app
    except ImportError:  # pragma: no cover - generator is part of the package
        return
    scenario_app.registered_commands.extend(generator_app.registered_commands)


_wire_generator()
_wire_run()
_wire_serve()
_wire_worker()

if __name__ == "__main__":
    app()
