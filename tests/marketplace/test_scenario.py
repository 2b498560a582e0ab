"""Scenario files: a bad one fails naming the field and the reason; every public one loads."""

from pathlib import Path

import pytest
import yaml

from marketplace.scenario import Scenario, ScenarioError, load_scenario

ROOT = Path(__file__).parents[2]
PUBLIC = sorted((ROOT / "scenarios").glob("*.yaml"))


def valid() -> dict:
    return {
        "name": "scenario_test",
        "shops": [{
            "id": "s1",
            "products": [{"sku": "A", "price": 30.0, "cost": 12.0, "shipping": 3.0},
                         {"sku": "B", "price": 50.0, "cost": 20.0}],
            "campaigns": [{"sku": "A", "bid": 1.0, "budget": 40}],
            "coupons": [{"type": "percent", "value": 10}],
        }],
    }


def load_with(tmp_path: Path, change) -> Scenario:
    """Write the valid scenario after `change(shop)` and load it back from the file."""
    data = valid()
    change(data["shops"][0])
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_scenario(path)


def set_in(shop: dict, dotted: str, value) -> None:
    *path, last = dotted.split(".")
    node = shop
    for key in path:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[last] = value


def test_the_valid_base_loads(tmp_path: Path) -> None:
    assert load_with(tmp_path, lambda shop: None).shops[0].products[1].sku == "B"


@pytest.mark.parametrize("field,value,expected", [
    ("products.0.price", -3.0, ["shops.0.products.0.price", "greater than 0"]),
    ("products.0.cost", 28.0, ["shops.0.products.0", "cost (28.0) + shipping (3.0) must be below price (30.0)"]),
    ("campaigns.0.sku", "NOPE", ["campaigns[0].sku", "unknown SKU 'NOPE'"]),
    ("coupons.0.type", "lottery", ["shops.0.coupons.0.type", "'threshold'", "'percent'"]),
    ("coupons.0.value", 100, ["shops.0.coupons.0", "percent coupon takes less than 100 percent, got 100"]),
    ("policy", {"spend": {"daily_cap": 900, "monthly_cap": 800}},
     ["shops.0.policy.spend", "spend.daily_cap (900.0) is above spend.monthly_cap (800.0)"]),
])
def test_bad_field_is_named_with_its_reason(tmp_path: Path, field: str, value, expected: list[str]) -> None:
    with pytest.raises(ScenarioError) as err:
        load_with(tmp_path, lambda shop: set_in(shop, field, value))
    message = str(err.value)
    assert "scenario.yaml: invalid scenario" in message
    for part in expected:
        assert part in message


def test_segment_shares_must_add_up_to_one(tmp_path: Path) -> None:
    segments = [{"name": "new", "share": 0.5}, {"name": "high_value", "share": 0.3}]
    with pytest.raises(ScenarioError, match=r"segments: shares must add up to 1, got 0\.8000"):
        load_with(tmp_path, lambda shop: shop.update(segments=segments))


def test_unknown_field_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"shops\.0\.products\.1\.colour: Extra inputs are not permitted"):
        load_with(tmp_path, lambda shop: set_in(shop, "products.1.colour", "red"))


def test_missing_file_and_non_mapping_are_named(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "absent.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="a scenario is a mapping"):
        load_scenario(listing)


@pytest.mark.parametrize("path", PUBLIC, ids=lambda p: p.stem)
def test_every_public_scenario_loads(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.description and scenario.description_zh
    assert all(shop.products for shop in scenario.shops)
