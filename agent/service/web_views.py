"""What the owner page shows, read from storage: the report, the approval queue, the limits, the runs."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from agent import wording
from agent.i18n import Locale
from agent.service import web_policy
from agent.service.web_text import chat_strings, policy_sentences, text
from agent.storage import (
    Proposal,
    Report,
    Shop,
    current_policy,
    list_reports,
    list_runs,
    pending_proposals,
    session_scope,
)

TEMPLATES = Path(__file__).parent / "templates"
# The value the owner may change when editing, per action kind; what the action acts on never changes.
EDITABLE = {"set_bid": ("bid",), "set_budget": ("budget",), "set_campaign_mode": ("target_roi",),
            "create_coupon": ("value", "threshold")}
EDITABLE_FIELDS = sorted({name for names in EDITABLE.values() for name in names})
RUNS_SHOWN = 14

_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True)


def render(name: str, *, locale: Locale, **context: Any) -> str:
    """A page template with `t(key, **kw)` bound to the locale; every value is HTML-escaped."""
    return _env.get_template(f"{name}.j2").render(
        locale=locale, t=lambda key, **kw: text(key, locale, **kw), **context)


def dashboard(engine: Engine, shop: Shop, locale: Locale,
              limits: tuple[web_policy.Entered, web_policy.Problems] | None = None) -> dict[str, Any]:
    """Everything the signed-in page shows for the shop, in `locale`; the limits form holds `limits` (what the
    owner typed and what is wrong with it) when given, else the policy's values."""
    zone = _zone(shop)
    with session_scope(engine) as session:
        reports = list_reports(session, shop.id)
        titles = _titles(reports[0]) if reports else {}
        queue = [_queue_item(p, locale, zone, titles) for p in pending_proposals(session, shop.id)]
        policy = current_policy(session, shop.id)
        runs = _runs(session, shop.id, locale)
    dates = sorted({r.date for r in reports}, reverse=True)
    return {
        "shop": {"id": shop.id, "name": shop.name},
        "report_date": dates[0] if dates else None,
        "earlier_dates": dates[1:8],
        "queue": queue,
        "policy": policy_sentences(policy.body, locale) if policy else None,
        "policy_version": text("policy.version", locale, version=policy.version, by=policy.changed_by,
                               at=_local(policy.changed_at, zone)) if policy else "",
        "paused": bool(policy and policy.body["autonomy"]["kill_switch"]),
        "limits_form": web_policy.form_rows(*(limits or (web_policy.current_values(policy.body), {})), locale)
        if policy else [],
        "limits_open": bool(limits and limits[1]),
        "runs": runs,
        "chat_text": chat_strings(locale),
    }


def _queue_item(p: Proposal, locale: Locale, zone: ZoneInfo, titles: dict[str, str]) -> dict[str, Any]:
    """One pending proposal as the owner reads it: what changes, why, what the guard said, what may be edited."""
    action, verdict = p.action, p.decision or {}
    limit = verdict.get("limit") or ""
    return {
        "id": p.id,
        "kind": text(f"kind.{p.kind}", locale, p.kind),
        "target": p.target,
        "by": text(f"queue.by.{p.proposed_by}", locale, "") if p.proposed_by != "planner" else "",
        "title": titles.get(action.get("sku") or ""),
        "change": wording.change_text(action, locale),
        "rationale": (action.get("rationale_zh") if locale == "zh-CN" else None) or p.rationale
        or action.get("rationale", ""),
        "guard": verdict.get("message_zh" if locale == "zh-CN" else "message", ""),
        "limit": text(f"limit.{limit}", locale, limit) if limit else "",
        "numbers": [(k, _show(v)) for k, v in (verdict.get("numbers") or {}).items()],
        "expires": _local(p.expires_at, zone) if p.expires_at else "",
        "fields": [{"name": name, "label": text(f"field.{name}", locale), "value": action.get(name)}
                   for name in EDITABLE.get(p.kind, ()) if name in action],
    }


def _runs(session: Session, shop_id: str, locale: Locale) -> list[dict[str, Any]]:
    """The latest runs with how many of their proposals executed, wait for the owner, or were blocked."""
    runs = list_runs(session, shop_id, limit=RUNS_SHOWN)
    query = (select(Proposal.run_id, Proposal.state, func.count()).where(col(Proposal.run_id).in_([r.id for r in runs]))
             .group_by(col(Proposal.run_id), col(Proposal.state)))
    counts: dict[str, Counter[str]] = {}
    for run_id, state, n in session.exec(query).all():
        counts.setdefault(run_id, Counter())[state] = n
    return [{"id": r.id, "date": r.date, "status": r.status, "status_text": text(f"status.{r.status}", locale),
             "executed": counts.get(r.id, Counter())["executed"], "pending": counts.get(r.id, Counter())["pending"],
             "denied": counts.get(r.id, Counter())["denied"]} for r in runs]


def _titles(report: Report) -> dict[str, str]:
    """SKU → product title, from the newest report's data (the queue's proposals name only the SKU)."""
    data = report.data or {}
    rows = [*data.get("actions", []), *data.get("roi_by_sku", [])]
    return {r["sku"]: r["title"] for r in rows if r.get("sku") and r.get("title")}


def _zone(shop: Shop) -> ZoneInfo:
    try:
        return ZoneInfo(shop.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return "" if value is None else str(value)
