"""The agent's storage: engine, shops, policy versions, runs, audit log, reports and owner tokens.

Everything storage offers is importable from here, including the engine (`agent.storage_engine`), the tables
(`agent.storage_models`), the proposal state machine (`agent.storage_proposals`) and the schema's migrations
(`agent.storage_schema`). Functions take a session and flush but never commit: the caller's
`session_scope` is the transaction, so a state change and its audit event land together or not at all.
"""

import hashlib
import hmac
import secrets
from collections.abc import Collection
from datetime import datetime
from typing import Any, Literal
from uuid import uuid4

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from agent.storage_engine import database_url, make_engine, session_scope
from agent.storage_models import (
    RUN_TRANSITIONS,
    TRANSITIONS,
    ApprovalExpired,
    AuditEvent,
    AuditKind,
    AuditLogIsAppendOnly,
    InvalidTransition,
    NotFound,
    PlannerMemory,
    PolicyVersion,
    Proposal,
    ProposalConflict,
    ProposalState,
    Report,
    Run,
    RunExists,
    RunStatus,
    Shop,
    ShopToken,
    StorageError,
    as_utc,
    audit,
    require_row,
    to_json,
    utcnow,
)
from agent.storage_proposals import (
    decided_proposals,
    edit_proposal,
    edited_proposal_id,
    expire_due,
    get_proposal,
    pending_proposals,
    proposal_id_for,
    proposals_for_run,
    transition,
    upsert_proposal,
)
from agent.storage_schema import (
    head_revision,
    init_db,
    migration_config,
    migration_connection,
    migration_options,
    schema_revision,
)
from policies.limits import PolicyError, parse_policy

__all__ = [
    "ApprovalExpired", "AuditEvent", "AuditKind", "AuditLogIsAppendOnly", "InvalidTransition", "NotFound",
    "PlannerMemory", "PolicyVersion", "Proposal", "ProposalConflict", "ProposalState", "RUN_TRANSITIONS", "Report",
    "Run", "RunExists", "RunStatus", "Shop", "ShopToken", "StorageError", "TRANSITIONS", "as_utc", "audit",
    "audit_log", "current_policy", "database_url", "decided_proposals", "edit_proposal", "edited_proposal_id",
    "expire_due", "finish_run", "get_proposal", "get_report", "get_run", "get_shop", "hash_token", "head_revision",
    "init_db", "issue_token", "list_reports", "list_runs", "load_memory", "make_engine", "migration_config",
    "migration_connection", "migration_options", "pending_proposals", "policy_history", "proposal_id_for",
    "proposals_for_run", "save_memory", "save_policy", "save_report", "save_shop", "schema_revision", "session_scope",
    "set_run_status", "shop_for_token", "start_run", "transition", "upsert_proposal", "utcnow",
]


# --- shops ------------------------------------------------------------------------------------------------------------

_SHOP_SETTINGS = {"locale", "timezone", "daily_run_time", "platform_url", "platform_token", "webhook_url"}


def save_shop(session: Session, shop_id: str, name: str, **settings: Any) -> Shop:
    """Create the shop, or update its name and the given settings (locale, timezone, run time, urls, platform token)."""
    unknown = set(settings) - _SHOP_SETTINGS
    if unknown:
        raise TypeError(f"unknown shop settings: {', '.join(sorted(unknown))}")
    shop = session.get(Shop, shop_id) or Shop(id=shop_id, name=name)
    shop.name = name
    for key, value in settings.items():
        setattr(shop, key, value)
    session.add(shop)
    session.flush()
    return shop


def get_shop(session: Session, shop_id: str) -> Shop | None:
    """The shop, or None."""
    return session.get(Shop, shop_id)


# --- policy versions --------------------------------------------------------------------------------------------------

def save_policy(
    session: Session, shop_id: str, policy_dict: dict[str, Any], changed_by: str, note: str = "",
    *, now: datetime | None = None,
) -> PolicyVersion:
    """Store the next policy version; a bad body raises PolicyError naming the field.

    `version`, `changed_by` and `changed_at` in the body are set here, whatever the caller put there.
    """
    require_row(session, Shop, shop_id)
    if not changed_by.strip():
        raise PolicyError("changed_by: a policy change needs the name of who made it")
    now = as_utc(now)
    previous = current_policy(session, shop_id)
    version = previous.version + 1 if previous else 1
    stamped = {**policy_dict, "version": version, "changed_by": changed_by, "changed_at": now}
    body = parse_policy(stamped, source=f"policy for shop {shop_id}").model_dump(mode="json")
    row = PolicyVersion(shop_id=shop_id, version=version, body=body, changed_by=changed_by, changed_at=now, note=note)
    session.add(row)
    changes = _diff(previous.body if previous else {}, body, skip={"version", "changed_by", "changed_at"})
    audit(session, shop_id=shop_id, event=AuditKind.POLICY_CHANGED, actor=changed_by, now=now,
          detail={"version": version, "note": note, "changes": changes})
    session.flush()
    return row


def current_policy(session: Session, shop_id: str) -> PolicyVersion | None:
    """The newest policy version of the shop, or None if it never had one."""
    query = select(PolicyVersion).where(PolicyVersion.shop_id == shop_id).order_by(col(PolicyVersion.version).desc())
    return session.exec(query.limit(1)).first()


def policy_history(session: Session, shop_id: str) -> list[PolicyVersion]:
    """Every policy version of the shop, oldest first."""
    query = select(PolicyVersion).where(PolicyVersion.shop_id == shop_id).order_by(col(PolicyVersion.version))
    return list(session.exec(query).all())


def _diff(old: dict[str, Any], new: dict[str, Any], skip: Collection[str] = (), prefix: str = "") -> dict[str, Any]:
    """Dotted path → [old, new] for every leaf that differs."""
    out: dict[str, Any] = {}
    for key in sorted((set(old) | set(new)) - set(skip)):
        before, after = old.get(key), new.get(key)
        if isinstance(before, dict) and isinstance(after, dict):
            out.update(_diff(before, after, prefix=f"{prefix}{key}."))
        elif before != after:
            out[f"{prefix}{key}"] = [before, after]
    return out


# --- runs -------------------------------------------------------------------------------------------------------------

def start_run(
    session: Session, shop_id: str, date: str, day: int, run_id: str | None = None,
    *, thread_id: str | None = None, actor: str = "system", now: datetime | None = None, kind: str = "daily",
) -> Run:
    """Open the shop's run for `date`; a daily run raises RunExists if one is already there and has not failed."""
    require_row(session, Shop, shop_id)
    if kind not in ("daily", "chat"):
        raise ValueError(f"kind: must be daily or chat, got {kind!r}")
    live = session.exec(select(Run).where(
        Run.shop_id == shop_id, Run.date == date, Run.kind == "daily", Run.status != RunStatus.FAILED.value)).first()
    if kind == "daily" and live is not None:
        raise RunExists(f"shop {shop_id} already has run {live.id} for {date} (status {live.status}); "
                        "only a failed run may be started again")
    run_id = run_id or uuid4().hex
    now = as_utc(now)
    run = Run(id=run_id, shop_id=shop_id, day=day, date=date, kind=kind, thread_id=thread_id or run_id,
              started_at=now)
    session.add(run)
    audit(session, shop_id=shop_id, run_id=run_id, event=AuditKind.RUN_STARTED, actor=actor, now=now,
          detail={"date": date, "day": day, "kind": kind, "thread_id": run.thread_id})
    try:
        session.flush()
    except IntegrityError as exc:  # another process started it between our check and our insert
        raise RunExists(f"run {run_id} or another live run of shop {shop_id} for {date} already exists") from exc
    return run


def set_run_status(
    session: Session, run_id: str, status: RunStatus | str,
    *, summary: dict[str, Any] | None = None, actor: str = "system", now: datetime | None = None,
) -> Run:
    """Move a run along running ⇄ waiting_approval → done | failed; done and failed are audited."""
    run = require_row(session, Run, run_id)
    old, new = RunStatus(run.status), RunStatus(status)
    if new not in RUN_TRANSITIONS[old]:
        raise InvalidTransition(f"run {run_id}", old, new, RUN_TRANSITIONS[old])
    now = as_utc(now)
    run.status = new.value
    if summary is not None:
        run.summary = to_json(summary)
    if new in (RunStatus.DONE, RunStatus.FAILED):
        run.finished_at = now
        audit(session, shop_id=run.shop_id, run_id=run_id, event=AuditKind.RUN_FINISHED, actor=actor, now=now,
              detail={"status": new.value, "summary": run.summary})
    session.add(run)
    session.flush()
    return run


def finish_run(
    session: Session, run_id: str, status: Literal["done", "failed"] = "done",
    *, summary: dict[str, Any] | None = None, actor: str = "system", now: datetime | None = None,
) -> Run:
    """Close a run as done or failed, with its summary."""
    if status not in (RunStatus.DONE, RunStatus.FAILED):
        raise ValueError(f"finish_run: status must be done or failed, got {status!r}")
    return set_run_status(session, run_id, status, summary=summary, actor=actor, now=now)


def get_run(session: Session, run_id: str) -> Run | None:
    """The run, or None."""
    return session.get(Run, run_id)


def list_runs(session: Session, shop_id: str, limit: int = 50) -> list[Run]:
    """The shop's runs, newest first."""
    query = select(Run).where(Run.shop_id == shop_id).order_by(col(Run.started_at).desc()).limit(limit)
    return list(session.exec(query).all())


# --- audit log --------------------------------------------------------------------------------------------------------

def audit_log(
    session: Session, shop_id: str, run_id: str | None = None, event: AuditKind | str | None = None,
    since: datetime | None = None, limit: int = 500,
) -> list[AuditEvent]:
    """The newest `limit` matching events of the shop, in the order they happened."""
    query = select(AuditEvent).where(AuditEvent.shop_id == shop_id)
    if run_id is not None:
        query = query.where(AuditEvent.run_id == run_id)
    if event is not None:
        query = query.where(AuditEvent.event == AuditKind(event).value)
    if since is not None:
        query = query.where(col(AuditEvent.at) >= since)
    newest = session.exec(query.order_by(col(AuditEvent.id).desc()).limit(limit)).all()
    return list(reversed(newest))


# --- reports ----------------------------------------------------------------------------------------------------------

def save_report(
    session: Session, *, shop_id: str, date: str, locale: str, markdown: str, html: str = "",
    data: Any = None, run_id: str | None = None, now: datetime | None = None,
) -> Report:
    """Store the shop's report for a date and locale, replacing any earlier one."""
    require_row(session, Shop, shop_id)
    query = select(Report).where(Report.shop_id == shop_id, Report.date == date, Report.locale == locale)
    report = session.exec(query).first() or Report(shop_id=shop_id, date=date, locale=locale, markdown="")
    report.run_id, report.markdown, report.html = run_id, markdown, html
    report.data, report.created_at = to_json(data or {}), as_utc(now)
    session.add(report)
    session.flush()
    return report


def get_report(session: Session, shop_id: str, date: str, locale: str) -> Report | None:
    """The shop's report for a date and locale, or None."""
    query = select(Report).where(Report.shop_id == shop_id, Report.date == date, Report.locale == locale)
    return session.exec(query).first()


def list_reports(session: Session, shop_id: str, limit: int = 30) -> list[Report]:
    """The shop's reports, newest date first."""
    query = select(Report).where(Report.shop_id == shop_id)
    return list(session.exec(query.order_by(col(Report.date).desc(), col(Report.locale)).limit(limit)).all())


# --- planner memory ---------------------------------------------------------------------------------------------------

def load_memory(session: Session, shop_id: str) -> dict[str, Any]:
    """The planner's estimates for the shop from earlier runs (empty at first)."""
    row = session.get(PlannerMemory, shop_id)
    return dict(row.body) if row is not None else {}


def save_memory(session: Session, shop_id: str, body: dict[str, Any], *, now: datetime | None = None) -> None:
    """Keep the planner's estimates for the shop's next run."""
    row = session.get(PlannerMemory, shop_id) or PlannerMemory(shop_id=shop_id)
    row.body, row.updated_at = to_json(body), as_utc(now)
    session.add(row)
    session.flush()


# --- owner tokens -----------------------------------------------------------------------------------------------------

def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, shop_id: str, label: str, *, now: datetime | None = None) -> str:
    """A new owner token for the shop; the plaintext is returned once and only its hash is kept."""
    require_row(session, Shop, shop_id)
    token = "xo_" + secrets.token_urlsafe(32)
    session.add(ShopToken(token_hash=hash_token(token), shop_id=shop_id, label=label, created_at=as_utc(now)))
    session.flush()
    return token


def shop_for_token(session: Session, token: str) -> str | None:
    """The shop a token belongs to, or None for an unknown token."""
    if not token:
        return None
    digest = hash_token(token)
    row = session.exec(select(ShopToken).where(ShopToken.token_hash == digest)).first()
    return row.shop_id if row is not None and hmac.compare_digest(row.token_hash, digest) else None
