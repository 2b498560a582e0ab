"""The oracle is a real ceiling: random static settings cannot beat it, and no baseline does."""

from pathlib import Path

import pytest

from marketplace.harness import scenario_files, simulate
from marketplace.scenario import load_scenario
from marketplace.search import random_search
from marketplace.world import World

SCENARIOS = scenario_files(Path(__file__).parents[2] / "scenarios")
SMALL = [p for p in SCENARIOS if sum(len(s.products) for s in load_scenario(p).shops) <= 20]


def expected_oracle_profit(path: Path) -> float:
    """The oracle's whole run in expected-value mode (no noise), through the real API."""
    scenario = load_scenario(path)
    world_profit = simulate(scenario, "oracle", noise=False).total("profit")
    return world_profit


@pytest.mark.parametrize("path", SMALL, ids=lambda p: p.stem)
def test_random_search_does_not_beat_oracle(path: Path) -> None:
    oracle = expected_oracle_profit(path)
    searched = random_search(World(load_scenario(path), noise=False), samples=256, seed=1)
    assert searched <= 1.02 * oracle, f"random search {searched:.0f} beats oracle {oracle:.0f} by > 2%"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_oracle_beats_every_baseline(path: Path) -> None:
    scenario = load_scenario(path)
    oracle = simulate(scenario, "oracle").total("profit")
    for baseline in ("noop", "rules", "platform"):
        profit = simulate(scenario, baseline).total("profit")
        assert oracle > profit, f"{baseline} earned {profit:.0f}, oracle only {oracle:.0f}"
