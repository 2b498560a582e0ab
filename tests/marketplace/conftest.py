"""A small two-shop world, and clients for it over the in-process platform API."""

from collections.abc import Iterator

import pytest

from marketplace.client import AdminClient, PlatformClient, RetryPolicy, in_process
from marketplace.scenario import parse_scenario
from marketplace.world import World

ADMIN = "test-admin"


def two_shops() -> dict:
    product = lambda sku, price: {"sku": sku, "price": price, "cost": price * 0.5, "stock": 500}  # noqa: E731
    return {
        "name": "two_shops", "seed": 3, "horizon_days": 10,
        "shops": [
            {"id": "alpha", "token": "tok-alpha", "products": [product("a1", 30), product("a2", 50)],
             "campaigns": [{"sku": "a1", "bid": 1.0, "budget": 60}, {"sku": "a2", "bid": 1.5, "budget": 80}]},
            {"id": "beta", "token": "tok-beta", "products": [product("b1", 40)],
             "campaigns": [{"sku": "b1", "bid": 1.2, "budget": 50}],
             "coupons": [{"id": "cpn-beta", "type": "no_threshold", "value": 3}]},
        ],
    }


class Recorder:
    """Stands in for time.sleep: records each wait instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def world() -> World:
    return World(parse_scenario(two_shops()))


@pytest.fixture
def http(world: World) -> Iterator:
    with in_process(world, admin_token=ADMIN) as client:
        yield client


@pytest.fixture
def sleeps() -> Recorder:
    return Recorder()


@pytest.fixture
def alpha(http, sleeps) -> PlatformClient:
    return PlatformClient(http, "alpha", "tok-alpha", retry=RetryPolicy(attempts=4, sleep=sleeps))


@pytest.fixture
def admin(http) -> AdminClient:
    return AdminClient(http, ADMIN)
