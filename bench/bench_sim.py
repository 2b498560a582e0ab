"""Simulation throughput: 28 days of the noop policy on generated catalogues, straight on `World`.

Each size runs in a fresh subprocess, so its peak resident memory is its own. No HTTP: the
platform API would measure the web stack, not the market model.

    python bench/bench_sim.py [--sizes 1000,50000] [--repeats N] [--days 28] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_SECONDS = 60.0  # 28 days × 50,000 SKUs, World construction included
TARGET_RSS_MB = 2048.0


def measure(skus: int, days: int, repeats: int) -> dict:
    """Generate a catalogue, then build and run a World `repeats` times; wall times and peak RSS."""
    from marketplace.generator import generate
    from marketplace.world import World

    start = time.perf_counter()
    scenario = generate(skus, seed=0, days=days)
    generate_s = time.perf_counter() - start
    setups, runs, cpu = [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        world = World(scenario)
        setups.append(time.perf_counter() - start)
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(days):
            world.step()  # noop policy: the scenario's initial settings are kept
        runs.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)  # steadier than wall time on a shared machine
        del world
    simulate_s = statistics.median(runs)
    setup_s = statistics.median(setups)
    return {
        "skus": skus, "days": days, "repeats": repeats, "generate_s": round(generate_s, 3),
        "setup_s": round(setup_s, 3), "simulate_s": round(simulate_s, 3),
        "simulate_cpu_s": round(statistics.median(cpu), 3), "total_s": round(setup_s + simulate_s, 3),
        "sku_days_per_s": round(skus * days / simulate_s), "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def _peak_rss_mb() -> float:
    """ru_maxrss is in kilobytes on Linux and in bytes on macOS."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def measure_in_subprocess(skus: int, days: int, repeats: int) -> dict:
    """Run `measure` for one size in a fresh interpreter and read its JSON line back."""
    cmd = [sys.executable, __file__, "--child", str(skus), "--days", str(days), "--repeats", str(repeats)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{skus} SKUs: benchmark subprocess failed\n{done.stderr}")
    row = json.loads(done.stdout.strip().splitlines()[-1])
    row["within_targets"] = row["total_s"] < TARGET_SECONDS and row["peak_rss_mb"] < TARGET_RSS_MB
    return row


def markdown(rows: list[dict]) -> str:
    head = ("| SKUs | days | repeats | World() s | run s (median) | run CPU s | SKU-days/s | peak RSS MB | "
            f"< {TARGET_SECONDS:.0f} s and < {TARGET_RSS_MB / 1024:.0f} GB |\n"
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    lines = [f"| {r['skus']:,} | {r['days']} | {r['repeats']} | {r['setup_s']:.2f} | {r['simulate_s']:.2f} | "
             f"{r['simulate_cpu_s']:.2f} | {r['sku_days_per_s']:,} | {r['peak_rss_mb']:,.0f} | "
             f"{'yes' if r['within_targets'] else 'NO'} |" for r in rows]
    return "\n".join([head, *lines])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,50000", help="Comma-separated SKU counts.")
    parser.add_argument("--repeats", type=int, help="Runs per size (default: 3 up to 10,000 SKUs, else 1).")
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--json", type=Path, help="Write the rows as JSON.")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)  # one size, in this process
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(measure(args.child, args.days, args.repeats or 1)))
        return
    rows = []
    for skus in (int(s) for s in args.sizes.split(",")):
        repeats = args.repeats or (3 if skus <= 10_000 else 1)
        rows.append(measure_in_subprocess(skus, args.days, repeats))
    print(markdown(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
