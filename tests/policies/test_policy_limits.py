"""The owner's policy as data: shipped examples, validation that names the field, versioned changes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from policies.domain import ActionKind, CouponType
from policies.limits import EXAMPLES, Policy, PolicyError, example_policy, load_policy, parse_policy

T1 = datetime(2026, 3, 5, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_policies_load(name: str) -> None:
    policy = example_policy(name)
    assert set(policy.autonomy.rules) == set(ActionKind)


def test_default_yaml_matches_the_code_defaults() -> None:
    assert example_policy("default").model_dump(exclude={"changed_at"}) == Policy().model_dump(exclude={"changed_at"})


def test_cautious_is_stricter_than_growth() -> None:
    cautious, growth = example_policy("cautious"), example_policy("growth")
    assert cautious.spend.daily_cap < growth.spend.daily_cap
    assert cautious.profit.min_net_margin > growth.profit.min_net_margin
    assert cautious.discount.allowed_types == [CouponType.THRESHOLD]


@pytest.mark.parametrize(("data", "field", "reason"), [
    ({"spend": {"daily_cap": -5}}, "spend.daily_cap", "greater than 0"),
    ({"spend": {"sku_daily_budget_cap": 800}}, "spend.sku_daily_budget_cap", "above spend.daily_cap"),
    ({"spend": {"daily_cap": 20000}}, "spend.daily_cap", "above spend.monthly_cap"),
    ({"discount": {"daily_budget": 2000}}, "discount.daily_budget", "above discount.weekly_budget"),
    ({"discount": {"allowed_types": ["threshold", "mystery"]}}, "discount.allowed_types.1", "'threshold'"),
    ({"discount": {"max_discount_pct": 120}}, "discount.max_discount_pct", "less than or equal to 100"),
    ({"discount": {"lowest_price_floor": {"SKU-1": -3}}}, "discount.lowest_price_floor.SKU-1", "greater than or"),
    ({"profit": {"min_net_margin": 1.5}}, "profit.min_net_margin", "less than 1"),
    ({"spend": {"max_bid": float("nan")}}, "spend.max_bid", "finite number"),
    ({"spend": {"max_bids": 3}}, "spend.max_bids", "Extra inputs"),
    ({"autonomy": {"rules": {"set_price": {"mode": "auto"}}}}, "autonomy.rules.set_price", "set_bid"),
    ({"autonomy": {"rules": {"set_bid": {"mode": "sometimes"}}}}, "autonomy.rules.set_bid.mode", "'auto'"),
])
def test_bad_policy_names_the_field(data: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(data, source="owner.yaml")
    text = str(err.value)
    assert text.startswith("owner.yaml: invalid policy")
    assert field in text and reason in text


def test_load_policy_reports_files_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no such policy file"):
        load_policy(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("spend: {daily_cap: [", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="valid dictionary"):  # PolicyError is a ValueError
        load_policy(listed)


def test_revise_records_who_and_when() -> None:
    policy = Policy()
    revised = policy.revise({"spend": {"daily_cap": 400}}, by="Amei", at=T1)
    assert (revised.version, revised.changed_by, revised.changed_at) == (2, "Amei", T1)
    assert revised.spend.daily_cap == 400 and revised.spend.monthly_cap == policy.spend.monthly_cap
    assert policy.spend.daily_cap == 500  # the old version is untouched


def test_revise_is_a_merge_patch() -> None:
    policy = Policy.model_validate({"discount": {"lowest_price_floor": {"A": 10, "B": 20}}})
    revised = policy.revise({"discount": {"lowest_price_floor": {"A": None, "C": 5}}}, by="owner", at=T1)
    assert revised.discount.lowest_price_floor == {"B": 20, "C": 5}
    kept = revised.revise({"autonomy": {"rules": {"set_bid": {"max_change_pct": 5}}}}, by="owner", at=T1)
    assert kept.autonomy.rules[ActionKind.SET_BID].mode == "auto"
    assert kept.autonomy.rules[ActionKind.SET_BID].max_change_pct == 5


def test_revise_rejects_bad_changes_naming_the_field() -> None:
    with pytest.raises(PolicyError, match="spend.max_bid"):
        Policy().revise({"spend": {"max_bid": 0}}, by="owner", at=T1)
    with pytest.raises(PolicyError, match="version"):
        Policy().revise({"version": 9}, by="owner", at=T1)
    with pytest.raises(PolicyError, match="changed_by"):
        Policy().revise({"spend": {"max_bid": 3}}, by=" ", at=T1)


def test_floor_for_prefers_the_explicit_floor() -> None:
    policy = Policy.model_validate({"discount": {"lowest_price_floor": {"A": 55}, "lowest_price_floor_ratio": 0.9}})
    assert policy.floor_for("A", 100) == 55
    assert policy.floor_for("B", 100) == 90
