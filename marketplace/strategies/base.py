"""The one small interface every strategy implements, and the registry the CLI reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from marketplace.client import PlatformClient
    from marketplace.world import World


class Strategy(Protocol):
    """Makes one shop's decisions for one day, through the platform API only.

    `act` is called once per shop at the start of each simulated day, before the day runs.
    """

    name: str

    def act(self, client: PlatformClient, day: int) -> None: ...


# A factory gets the world so the oracle may read the true parameters; every other strategy
# must ignore it and see the shop only through the client.
StrategyFactory = Callable[["World"], Strategy]

_REGISTRY: dict[str, StrategyFactory] = {}
_UNLISTED: set[str] = set()  # run by name only, never in "every policy" (a benchmark's diagnostics)


def register(name: str, *, listed: bool = True) -> Callable[[StrategyFactory], StrategyFactory]:
    def deco(factory: StrategyFactory) -> StrategyFactory:
        _REGISTRY[name] = factory
        if not listed:
            _UNLISTED.add(name)
        return factory

    return deco


def strategy_names() -> list[str]:
    """Every listed strategy: what `xiaoer bench` runs by default."""
    _load_builtin()
    return [name for name in _REGISTRY if name not in _UNLISTED]


def make_strategy(name: str, world: World) -> Strategy:
    _load_builtin()
    try:
        return _REGISTRY[name](world)
    except KeyError:
        raise ValueError(f"unknown policy {name!r}; choose one of {', '.join(_REGISTRY)}") from None


def _load_builtin() -> None:
    from agent import runner  # noqa: F401  (registers the agent)
    from marketplace.strategies import baselines, oracle  # noqa: F401  (registers them)
