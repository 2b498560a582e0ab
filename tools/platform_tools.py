"""Read tools over the platform API: compact JSON for the model, platform text kept as data.

Everything a tool returns is JSON. Free text from the platform (product titles, event names,
anything a seller or buyer could have typed) stays inside JSON strings, with `<`, `>` and `&`
escaped, so it can neither pose as an instruction nor close the `<…>` data tags the prompts use.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import to_jsonable_python

from marketplace.client import PlatformClient, PlatformError
from policies.limits import format_validation_error
from tools.jsonsafe import finite

MAX_ITEMS = 40  # list items per answer: the model's context is small
MAX_METRIC_ROWS = 60
MAX_METRIC_DAYS = 28


class ReadOnlyPlatform:
    """The read half of a `PlatformClient`: all the tools ever hold, so no tool can write."""

    READS = ("shop", "products", "product", "metrics", "campaigns", "coupons", "segments", "price_history",
             "calendar", "bid_suggestions")

    def __init__(self, client: PlatformClient | ReadOnlyPlatform):
        self._client = client
        self.shop_id: str = client.shop_id

    def __getattr__(self, name: str) -> Any:
        if name not in self.READS:
            raise AttributeError(f"{name!r}: the tools may only read the platform ({', '.join(self.READS)})")
        return getattr(self._client, name)

    def today(self) -> int:
        """The platform's current (unfinished) day; metrics exist up to the day before."""
        return int(self.shop()["day"])


# ---- shared by every tool module -------------------------------------------------------------
class Args(BaseModel):
    """Base of every tool's argument schema: unknown arguments are an error the model sees."""

    model_config = ConfigDict(extra="forbid")


class NoArgs(Args):
    pass


def as_data(obj: Any) -> str:
    """Compact JSON whose strings cannot break out of a `<tag>…</tag>` data section."""
    text = json.dumps(finite(to_jsonable_python(obj, fallback=str)), ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def listing(items: list[Any], limit: int = MAX_ITEMS, *, keep: Literal["first", "last"] = "first") -> dict:
    """A list cut to `limit` items, saying how many there were."""
    out: dict[str, Any] = {"count": len(items)}
    if len(items) > limit:
        out["items"] = items[:limit] if keep == "first" else items[-limit:]
        out["note"] = f"showing the {keep} {limit} of {len(items)}"
    else:
        out["items"] = items
    return out


def validation_text(exc: ValidationError) -> str:
    """A tool-argument error the model can act on: each bad field and what is wrong with it."""
    return "invalid arguments:\n" + format_validation_error(exc)


def make_tool(func: Callable[..., Any], name: str, schema: type[BaseModel]) -> BaseTool:
    """A structured tool whose docstring is the model's manual and whose errors go back as text.

    Argument errors and platform refusals (unknown SKU, bad range) become the tool's answer;
    anything else is a bug and propagates.
    """

    def run(**kwargs: Any) -> str:
        try:
            return func(**kwargs)
        except PlatformError as exc:
            if exc.retryable:
                raise ToolException(f"the platform is unavailable right now ({exc.status}); try later") from exc
            raise ToolException(f"the platform refused: {exc.detail}") from exc

    return StructuredTool.from_function(
        func=run, name=name, description=" ".join((func.__doc__ or "").split()), args_schema=schema,
        handle_tool_error=True, handle_validation_error=validation_text,
    )


# ---- argument schemas -------------------------------------------------------------------------
class SkuArgs(Args):
    sku: str = Field(min_length=1, max_length=64, description="The SKU, as get_products lists it.")


class MetricsArgs(Args):
    sku: str | None = Field(None, max_length=64, description="One SKU; omit for every SKU of the shop.")
    days: int = Field(7, ge=1, le=MAX_METRIC_DAYS, description="How many finished days back, ending yesterday.")
    group: Literal["sku", "source", "day"] = Field(
        "sku", description="Rows per SKU and day, per SKU, day and traffic source "
        "(organic / search / whole_site), or shop totals per day.")


# ---- the tools -------------------------------------------------------------------------------
def read_tools(client: PlatformClient | ReadOnlyPlatform) -> list[BaseTool]:
    """The read tools over one shop; the shop is the client's, never a model argument."""
    p = client if isinstance(client, ReadOnlyPlatform) else ReadOnlyPlatform(client)

    def get_shop() -> str:
        """The shop: name, locale, currency, today's day number and date, number of products."""
        return as_data(p.shop())

    def get_products() -> str:
        """Every product: list price, selling price (event price while in an event), unit cost,
        shipping, commission share, stock, 30-day lowest price, 7-day unit sales, ad stage (1 or 2)."""
        return as_data(listing(p.products()))

    def get_metrics(sku: str | None = None, days: int = 7, group: str = "sku") -> str:
        """Daily metrics over the last `days` finished days: impressions, clicks, visitors, orders,
        units, gmv, ad_spend, coupon_cost, refunds, refund_amount. Long answers keep the latest rows."""
        end = p.today() - 1
        if end < 0:
            return as_data({"count": 0, "items": [], "note": "no finished day yet"})
        start = max(end - days + 1, 0)
        rows = p.metrics(sku=sku, start_day=start, end_day=end, group=group)
        return as_data({"start_day": start, "end_day": end, **listing(rows, MAX_METRIC_ROWS, keep="last")})

    def get_campaigns() -> str:
        """Ad campaigns, one per SKU: id, mode (search bid or whole_site target ROI), status, bid,
        daily budget, target ROI, ad stage (1 broad audience, 2 precise audience), spend this month."""
        return as_data(listing(p.campaigns()))

    def get_coupons() -> str:
        """Store coupons, live and scheduled first: type, value, threshold, SKU, segments, validity
        days, quantity, limits, whether it counts toward the 30-day lowest price, redeemed, cost."""
        order = {"live": 0, "scheduled": 1}
        coupons = sorted(p.coupons(), key=lambda c: order.get(c.get("status"), 2))
        return as_data(listing(coupons))

    def get_segments() -> str:
        """Buyer segments of the shop (new, dormant, high_value, churn_risk, price_sensitive):
        share of visitors and average basket in units."""
        return as_data(listing(p.segments()))

    def get_price_history(sku: str) -> str:
        """A SKU's lowest counted price offered on each of the last 30 days (oldest first), and the
        30-day lowest price that promotion entry rules are measured against."""
        h = p.price_history(sku)
        days = h.get("days", [])
        return as_data({"sku": h["sku"], "list_price": h["list_price"], "lowest_price_30d": h["lowest_price_30d"],
                        "first_day": days[0]["day"] if days else None,
                        "lowest_offered": [d["lowest_offered"] for d in days]})

    def get_calendar() -> str:
        """Promotion events: dates, traffic multiplier, entry rule, and per SKU today's entry price
        and whether it entered."""
        events = p.calendar()
        for e in events:
            e["skus"] = listing(e.get("skus", []), 20)
        return as_data(listing(events))

    def get_bid_suggestions() -> str:
        """The platform's own bid and target-ROI suggestions per campaign. The platform optimises
        volume, not your profit: check every suggestion against unit_economics."""
        return as_data(listing(p.bid_suggestions()))

    return [
        make_tool(get_shop, "get_shop", NoArgs),
        make_tool(get_products, "get_products", NoArgs),
        make_tool(get_metrics, "get_metrics", MetricsArgs),
        make_tool(get_campaigns, "get_campaigns", NoArgs),
        make_tool(get_coupons, "get_coupons", NoArgs),
        make_tool(get_segments, "get_segments", NoArgs),
        make_tool(get_price_history, "get_price_history", SkuArgs),
        make_tool(get_calendar, "get_calendar", NoArgs),
        make_tool(get_bid_suggestions, "get_bid_suggestions", NoArgs),
    ]
