"""The owner page's limits form: the limits a merchant changes most, read from the form as a change to the policy,
and the policy's own refusal told back per field in the owner's language.

The rules live in the policy model alone (`policies.limits`): the form checks only that a number was typed, then
asks the model, and saving goes through `routes_policy.change_policy`, the API's path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from agent.i18n import Locale
from agent.service.web_text import money, number, text
from policies.limits import Policy

Unit = Literal["money", "pct", "share", "hours"]
Entered = dict[str, str]  # field path → what the form shows or the owner typed
Problems = dict[str, str]  # field path → why the policy refuses it, in the owner's language
Changes = dict[str, dict[str, float]]  # a change nested like the policy: {"spend": {"daily_cap": 800.0}}

# "spend.daily_cap (900.0) is above spend.monthly_cap (800.0)": the policy's cross-field rules.
_ABOVE = re.compile(r"(\w+\.\w+) \(([^)]*)\) is above (\w+\.\w+) \(([^)]*)\)")


@dataclass(frozen=True)
class LimitField:
    """One limit on the form: where it sits in the policy and how the owner reads it."""

    path: str
    unit: Unit  # "share" is stored as a share of 1 and shown as a percent

    @property
    def section(self) -> str:
        return self.path.split(".")[0]

    @property
    def key(self) -> str:
        return self.path.split(".")[1]

    @property
    def scale(self) -> float:
        """Shown value per stored value."""
        return 100.0 if self.unit == "share" else 1.0

    def label(self, locale: Locale) -> str:
        unit = text("limits.unit.hours", locale) if self.unit == "hours" else "¥" if self.unit == "money" else "%"
        return text("limits.label", locale, name=text(f"limit.{self.path}", locale), unit=unit)

    def show(self, stored: float, locale: Locale) -> str:
        """A stored value as a sentence shows it: ¥800, 35%, 24 hours."""
        if self.unit == "money":
            return money(stored)
        if self.unit == "hours":
            return text("limits.hours", locale, n=number(stored))
        return f"{number(stored * self.scale)}%"


LIMIT_FIELDS = (
    LimitField("spend.daily_cap", "money"),
    LimitField("spend.monthly_cap", "money"),
    LimitField("spend.max_bid", "money"),
    LimitField("spend.sku_daily_budget_cap", "money"),
    LimitField("discount.max_face_value", "money"),
    LimitField("discount.max_discount_pct", "pct"),
    LimitField("discount.daily_budget", "money"),
    LimitField("discount.weekly_budget", "money"),
    LimitField("profit.min_net_margin", "share"),
    LimitField("autonomy.approval_expiry_hours", "hours"),
)
_FIELDS = {f.path: f for f in LIMIT_FIELDS}


def current_values(body: dict[str, Any]) -> Entered:
    """The form filled with the policy's values, in the units the owner types (percent for the margin)."""
    return {f.path: _typed(body[f.section][f.key] * f.scale) for f in LIMIT_FIELDS}


def read_form(form: dict[str, str], locale: Locale) -> tuple[Entered, Changes, Problems]:
    """What the owner typed, the change it makes to the policy, and the fields that are not numbers."""
    entered = {f.path: form.get(f.path, "").strip() for f in LIMIT_FIELDS}
    changes: Changes = {}
    problems: Problems = {}
    for f in LIMIT_FIELDS:
        raw = entered[f.path]
        try:
            value = float(raw)
        except ValueError:
            reason = text("limits.reason.empty", locale) if not raw else text("limits.reason.not_number", locale,
                                                                               value=raw)
            problems[f.path] = _problem(f, reason, locale)
            continue
        changes.setdefault(f.section, {})[f.key] = round(value / f.scale, 10)  # 7 / 100 → 0.07, not 0.07000000000000001
    return entered, changes, problems


def refusals(body: dict[str, Any], changes: Changes, locale: Locale) -> Problems:
    """Why the policy model refuses `body` with `changes`, per field on the form; empty when it accepts it."""
    merged = {**body, **{section: {**body[section], **values} for section, values in changes.items()}}
    try:
        Policy.model_validate(merged)
    except ValidationError as exc:
        problems: Problems = {}
        for found in filter(None, (_explain(err, locale) for err in exc.errors())):
            problems.setdefault(*found)  # one reason per field: the first
        return problems
    return {}


def unchanged(body: dict[str, Any], changes: Changes) -> bool:
    """True when the form asks for exactly what the policy already says."""
    return all(body[section][key] == value for section, values in changes.items() for key, value in values.items())


def refused(problems: Problems, locale: Locale) -> str:
    """The page's message for a refused form: nothing saved, and every problem in the form's order."""
    ordered = [problems[f.path] for f in LIMIT_FIELDS if f.path in problems]
    return text("limits.refused", locale, problems=("；" if locale == "zh-CN" else "; ").join(ordered))


def form_rows(entered: Entered, problems: Problems, locale: Locale) -> list[dict[str, str]]:
    """The form's inputs for the template: name, label, value shown, the problem with it (or "")."""
    return [{"name": f.path, "id": "limit-" + f.path.replace(".", "-"), "label": f.label(locale),
             "value": entered.get(f.path, ""), "problem": problems.get(f.path, "")} for f in LIMIT_FIELDS]


def _explain(err: ErrorDetails, locale: Locale) -> tuple[str, str] | None:
    """(field path, the problem in words) for one of the model's errors about a field on the form."""
    path = ".".join(str(p) for p in err["loc"])
    if err["type"] == "value_error" and (above := _ABOVE.search(err["msg"])):
        field, other = _FIELDS.get(above.group(1)), _FIELDS.get(above.group(3))
        if field is None or other is None:
            return None
        bound = other.show(float(above.group(4)), locale)
        reason = text("limits.reason.above", locale, other=text(f"limit.{other.path}", locale), bound=bound)
        return field.path, _problem(field, reason, locale)
    field = _FIELDS.get(path)
    if field is None:
        return None
    ctx = err.get("ctx") or {}
    kind = next((k for k in ("gt", "ge", "lt", "le") if k in ctx), None)
    if kind is None:
        reason = (text("limits.reason.finite", locale) if err["type"] == "finite_number"
                  else text("limits.reason.other", locale, detail=err["msg"]))
    elif kind == "ge" and ctx[kind] == 0:
        reason = text("limits.reason.negative", locale)
    else:
        reason = text(f"limits.reason.{kind}", locale, bound=field.show(float(ctx[kind]), locale))
    return field.path, _problem(field, reason, locale)


def _problem(field: LimitField, reason: str, locale: Locale) -> str:
    return f"{text(f'limit.{field.path}', locale)}{text('sep.colon', locale)}{reason}"


def _typed(value: float) -> str:
    """A number as the owner would type it: 800, 0.35, 7 (not 7.000000000000001)."""
    return repr(round(float(value), 6)).removesuffix(".0")
