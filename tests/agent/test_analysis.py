"""The analyse step's anomalies, each from a hand-made observation at, just inside and just outside its rule:
stage-2 cut-off, ROI below break-even, stock-out risk (a restock on its way is no risk), lowest-price risk before an
event."""

from typing import Any

import pytest

from agent.analysis import anomalies, next_restock
from policies.limits import Policy

DAY = 10


def product(**kw: Any) -> dict[str, Any]:
    """A ¥100 SKU with ¥40 cost, 5% commission and ¥5 shipping (break-even ROI 2.0), plenty of stock."""
    return {"sku": "a1", "stock": 1000, "restock": None, "selling_price": 100.0, "price": 100.0, "cost": 40.0,
            "commission": 0.05, "shipping": 5.0, "lowest_price_30d": 100.0, **kw}


def row(day: int, source: str, **kw: float) -> dict[str, Any]:
    return {"sku": "a1", "day": day, "source": source, "clicks": 0.0, "units": 0.0, "gmv": 0.0, "ad_spend": 0.0, **kw}


def observation(products=None, metrics=None, campaigns=None, calendar=None) -> dict[str, Any]:
    return {"day": DAY, "products": products or [product()], "metrics": metrics or [],
            "campaigns": campaigns or [], "calendar": calendar or []}


def codes(obs: dict[str, Any]) -> list[str]:
    return [a["code"] for a in anomalies(obs, Policy())]


def selling(units_a_day: float) -> list[dict[str, Any]]:
    return [row(d, "organic", units=units_a_day) for d in range(DAY - 7, DAY)]


# ---- stock-out risk ---------------------------------------------------------------------------------------
def test_stock_for_less_than_two_days_of_sales_is_a_risk_with_the_days_left():
    (found,) = anomalies(observation([product(stock=15)], selling(10)), Policy())
    assert (found["code"], found["params"]) == ("stockout_risk", {"days_left": 1.5})
    assert codes(observation([product(stock=20)], selling(10))) == []  # two days: not yet


@pytest.mark.parametrize(("every", "risk"), [
    (11, False),  # the restock on day 11 comes before the 1.5 days run out
    (5, False),  # today, day 10, is a restock day: it arrives before today's sales
    (13, True),  # day 13 is too late
])
def test_a_restock_on_its_way_before_the_stock_runs_out_is_no_risk(every, risk):
    obs = observation([product(stock=15, restock={"every_days": every, "quantity": 50})], selling(10))
    assert (codes(obs) == ["stockout_risk"]) is risk


def test_next_restock_is_on_the_days_divisible_by_its_interval_and_never_without_a_quantity():
    assert next_restock(product(restock={"every_days": 7, "quantity": 30}), 10) == 14
    assert next_restock(product(restock={"every_days": 7, "quantity": 30}), 14) == 14
    assert next_restock(product(restock={"every_days": 7, "quantity": 30}), 0) == 7
    assert next_restock(product(restock={"every_days": 7, "quantity": 0}), 10) is None
    assert next_restock(product(), 10) is None


# ---- ROI below break-even ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("gmv", "below"), [(190.0, True), (210.0, False)])
def test_ad_roi_below_the_break_even_roi_is_flagged_with_both(gmv, below):
    obs = observation(metrics=[row(DAY - 1, "search", ad_spend=100.0, gmv=gmv)])
    found = [a for a in anomalies(obs, Policy()) if a["code"] == "roi_below_break_even"]
    assert bool(found) is below
    if below:
        assert found[0]["params"] == {"roi": 1.9, "break_even_roi": 2.0}


# ---- stage-2 cut-off ---------------------------------------------------------------------------------------
def search_clicks(before: float, last_two: float) -> list[dict[str, Any]]:
    return ([row(d, "search", clicks=before) for d in range(DAY - 7, DAY - 2)]
            + [row(d, "search", clicks=last_two) for d in (DAY - 2, DAY - 1)])


@pytest.mark.parametrize(("last_two", "cut"), [(50.0, True), (70.0, False)])
def test_search_clicks_falling_in_stage_2_are_a_cut_off(last_two, cut):
    campaign = {"sku": "a1", "stage": 2, "mode": "search", "status": "active"}
    found = [a for a in anomalies(observation(metrics=search_clicks(100.0, last_two), campaigns=[campaign]), Policy())
             if a["code"] == "stage2_cutoff"]
    assert bool(found) is cut
    if cut:
        assert found[0]["params"] == {"traffic_drop": 0.5}
    in_stage_1 = {**campaign, "stage": 1}
    assert "stage2_cutoff" not in codes(observation(metrics=search_clicks(100.0, 10.0), campaigns=[in_stage_1]))


# ---- lowest-price risk before an event ---------------------------------------------------------------------
def event(start_day: int, entry_ratio: float) -> dict[str, Any]:
    return {"name": "618", "start_day": start_day, "entry_ratio": entry_ratio, "skus": [{"sku": "a1"}]}


def test_an_event_whose_entry_price_breaks_the_margin_floor_is_flagged_with_the_price_and_the_floor():
    # the floor at a 10% net margin: (40 + 5) / (1 − 0.05 − 0.10) = 52.94
    (found,) = anomalies(observation([product(lowest_price_30d=60.0)], calendar=[event(DAY + 5, 0.85)]), Policy())
    assert (found["code"], found["params"]) == ("lowest_price_risk", {"event": "618", "price": 51.0,
                                                                      "floor": 52.94})
    assert codes(observation([product(lowest_price_30d=60.0)], calendar=[event(DAY + 5, 0.9)])) == []  # 54 clears
    assert codes(observation([product(lowest_price_30d=60.0)], calendar=[event(DAY + 15, 0.85)])) == []  # too far
