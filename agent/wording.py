"""How Xiaoer words an action or a coupon for a shop owner, in English and Chinese.

One wording for the daily report, the owner page and the chat, so a coupon reads "满60减5 · P-KETTLE
· 价格敏感客" and a campaign "投放中 → 已暂停" wherever the owner meets it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agent.i18n import Locale, t, t_or
from policies.domain import Segment

MINUS = "\u2212"
DASH = "—"


def money(x: float | None) -> str:
    """¥1,234.56, with a true minus sign for losses."""
    if x is None:
        return DASH
    text = f"¥{abs(x):,.2f}"
    return MINUS + text if round(x, 2) < 0 else text


def ratio(x: float | None) -> str:
    """An ROI or other ratio to two decimals."""
    return DASH if x is None else f"{x:.2f}"


def share(x: float | None) -> str:
    """A fraction as a percentage (0.372 → 37.2%), with a true minus sign."""
    return DASH if x is None else f"{x * 100:.1f}%".replace("-", MINUS)


def coupon_discount(type_: str, value: float, threshold: float, locale: Locale) -> str:
    """The discount alone: 满60减5 / ¥5 off ¥60, 9折 / 10% off, 无门槛减3 / ¥3 off, no minimum."""
    over = "_over" if threshold > 0 and type_ in ("percent", "share", "follow") else ""
    key = "terms.no_threshold" if type_ == "threshold" and threshold <= 0 else f"terms.{type_}{over}"
    off = f"{value:g}%" if locale == "en" else f"{(100 - value) / 10:g}"  # 10% off is 9折
    return t(key, locale, value=f"{value:g}", threshold=f"{threshold:g}", off=off)


def audience(segments: Iterable[str], locale: Locale) -> str:
    """Whom a coupon targets, in the fewest words: everyone, everyone but one segment, or the segments."""
    segments = list(segments)
    left_out = [s for s in Segment if s not in segments]
    if not left_out:
        return t("terms.everyone", locale)
    if len(left_out) == 1:
        return t("terms.all_but", locale, segment=t(f"segment.{left_out[0]}", locale))
    return t("terms.join", locale).join(t_or(f"segment.{s}", locale, s) for s in segments)


def coupon_terms(type_: str, value: float, threshold: float, sku: str | None, segments: Iterable[str],
                 locale: Locale) -> str:
    """The coupon as the owner says it: its discount, the SKU it is on (or the whole shop), whom it targets."""
    return " · ".join((coupon_discount(type_, value, threshold, locale), sku or t("terms.whole_shop", locale),
                       audience(segments, locale)))


def change(action: dict[str, Any], locale: Locale) -> tuple[float | str | None, float | str | None]:
    """What an action (as a dict) changes, as (before, after): numbers for bids and budgets, words for the rest;
    before is None for a new coupon."""
    kind = action["kind"]
    if kind in ("set_bid", "set_budget"):
        key = kind.removeprefix("set_")
        return action.get(f"current_{key}"), action[key]
    if kind == "set_campaign_status":
        return _value(action.get("current_status"), locale), _value(action["status"], locale)
    if kind == "set_campaign_mode":
        return (_mode(action.get("current_mode"), action.get("current_target_roi"), locale),
                _mode(action["mode"], action.get("target_roi"), locale))
    if kind == "create_coupon":
        days = action["end_day"] - action["start_day"] + 1
        parts = [coupon_discount(action["type"], action["value"], action.get("threshold") or 0.0, locale),
                 audience(action.get("segments") or list(Segment), locale), t("terms.days", locale, days=days)]
        return None, " · ".join(parts)
    return _value("live", locale), _value("stopped", locale)


def change_text(action: dict[str, Any], locale: Locale) -> str:
    """The change in one line: "¥0.60 → ¥0.80", "投放中 → 已暂停", or a new coupon's terms."""
    before, after = change(action, locale)
    shown = [money(x) if isinstance(x, float | int) else str(x) for x in (before, after) if x is not None]
    return " → ".join(shown)


def _value(value: str | None, locale: Locale) -> str | None:
    return None if value is None else t_or(f"value.{value}", locale, value)


def _mode(mode: str | None, roi: float | None, locale: Locale) -> str | None:
    if mode is None:
        return None
    return t("value.whole_site_roi", locale, roi=f"{roi:g}") if mode == "whole_site" and roi else _value(mode, locale)
