"""The agent's tables (shops, policy versions, runs, proposals, audit log, reports, owner tokens) and row helpers."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from pydantic_core import to_jsonable_python
from sqlalchemy import JSON, DateTime, Dialect, Index, Text, UniqueConstraint, event, text
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Session, SQLModel


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime | None) -> datetime:
    """`moment` in UTC, or now if None; a naive datetime is refused, since its zone would be a guess."""
    if moment is None:
        return utcnow()
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {moment.isoformat()} has no timezone; pass an aware UTC datetime")
    return moment.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite keeps no offset, so values are stored as naive UTC there and made aware again on
    load; PostgreSQL gets an aware value for its `timestamptz`. A naive value is refused, since
    its meaning would depend on the machine's clock settings.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamp {value.isoformat()} has no timezone; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSON that may be absent is stored as SQL NULL, not the JSON text 'null'.
NullableJSON = JSON(none_as_null=True)


class ProposalState(StrEnum):
    """Where a proposed action stands; see `TRANSITIONS` for the allowed moves."""

    PROPOSED = "proposed"
    DENIED = "denied"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    EXECUTED = "executed"
    FAILED = "failed"


_P = ProposalState
TRANSITIONS: dict[ProposalState, frozenset[ProposalState]] = {
    _P.PROPOSED: frozenset({_P.DENIED, _P.PENDING, _P.APPROVED}),  # the guard's verdict; approved = auto by policy
    _P.PENDING: frozenset({_P.APPROVED, _P.REJECTED, _P.EXPIRED}),  # the owner (or the clock) decides
    _P.APPROVED: frozenset({_P.EXECUTED, _P.FAILED}),  # the platform answers
    _P.DENIED: frozenset(),
    _P.REJECTED: frozenset(),
    _P.EXPIRED: frozenset(),
    _P.EXECUTED: frozenset(),
    _P.FAILED: frozenset(),
}


class RunStatus(StrEnum):
    RUNNING = "running"
    WAITING_APPROVAL = "waiting_approval"
    DONE = "done"
    FAILED = "failed"


RUN_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.RUNNING: frozenset({RunStatus.WAITING_APPROVAL, RunStatus.DONE, RunStatus.FAILED}),
    RunStatus.WAITING_APPROVAL: frozenset({RunStatus.RUNNING, RunStatus.DONE, RunStatus.FAILED}),
    RunStatus.DONE: frozenset(),
    RunStatus.FAILED: frozenset(),
}


class AuditKind(StrEnum):
    """What an audit event records."""

    PROPOSED = "proposed"
    GUARD_DECISION = "guard_decision"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    EXECUTED = "executed"
    FAILED = "failed"
    POLICY_CHANGED = "policy_changed"
    RUN_STARTED = "run_started"
    RUN_FINISHED = "run_finished"
    REPORT_SENT = "report_sent"  # the daily report reached the shop's webhook
    REPORT_NOT_SENT = "report_not_sent"  # ... or the webhook gave up after its retries
    SHOP_CHANGED = "shop_changed"  # the admin created the shop or changed its settings (secrets only as "set")
    TOKEN_ISSUED = "token_issued"  # an owner token was issued (its label and id, never the token)
    TOKEN_REVOKED = "token_revoked"
    WEBHOOK_SECRET_ROTATED = "webhook_secret_rotated"


class StorageError(Exception):
    """Base of every error the storage layer raises on purpose."""


class NotFound(StorageError, LookupError):
    """A shop, run or proposal that does not exist."""


class InvalidTransition(StorageError):
    """A proposal or run asked to move along an edge its state machine does not have."""

    def __init__(self, subject: str, from_state: str, to_state: str, allowed: frozenset[str]) -> None:
        self.from_state, self.to_state = str(from_state), str(to_state)
        options = ", ".join(sorted(allowed)) or "nothing (final state)"
        super().__init__(f"{subject}: cannot go from {self.from_state} to {self.to_state}; "
                         f"from {self.from_state} it may go to {options}")


class RunExists(StorageError):
    """A second run for a shop and date while the first has not failed."""


class ProposalConflict(StorageError):
    """The same proposal id was offered with a different action."""


class ApprovalExpired(StorageError):
    """An approval that arrived after the proposal's expiry time."""


class AuditLogIsAppendOnly(StorageError):
    """Someone tried to change or remove an audit event."""


class Shop(SQLModel, table=True):
    """A shop the agent runs, and how its owner wants to hear from it."""

    __tablename__ = "shops"

    id: str = Field(primary_key=True)
    name: str
    locale: str = "zh-CN"
    timezone: str = "Asia/Shanghai"
    daily_run_time: str = "08:00"
    platform_url: str | None = None
    # The shop's own token for the platform API: needed in clear to call the platform, so it lives
    # only here (never in files, logs or API responses); repr=False keeps it out of tracebacks.
    platform_token: str | None = Field(default=None, repr=False)
    webhook_url: str | None = None
    # The key that signs what goes to the webhook (Standard Webhooks, `whsec_…`): shown to the admin once, never in
    # owner views, logs or the audit log. None on shops made before signing, whose reports go out unsigned.
    webhook_secret: str | None = Field(default=None, repr=False)
    # The secret a rotation replaced, which still signs beside the new one until `previous_webhook_secret_until`
    # so a receiver that has not switched yet keeps verifying; kept out of every view like the secret itself.
    previous_webhook_secret: str | None = Field(default=None, repr=False)
    previous_webhook_secret_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PolicyVersion(SQLModel, table=True):
    """One version of a shop's policy; versions only ever increase."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("shop_id", "version", name="uq_policy_versions_shop_version"),)

    id: int | None = Field(default=None, primary_key=True)
    shop_id: str = Field(foreign_key="shops.id", index=True)
    version: int
    body: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    changed_by: str
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    note: str = ""


class Run(SQLModel, table=True):
    """One daily run of the agent for one shop, tied to its LangGraph thread."""

    __tablename__ = "runs"
    # At most one live daily run per shop and date; a failed one may be retried. Chat runs (the
    # owner's ideas from a conversation, guarded and queued like any proposal) are not limited.
    __table_args__ = (
        Index("uq_runs_live_per_shop_date", "shop_id", "date", unique=True,
              sqlite_where=text("status != 'failed' AND kind = 'daily'"),
              postgresql_where=text("status != 'failed' AND kind = 'daily'")),
    )

    id: str = Field(primary_key=True)
    shop_id: str = Field(foreign_key="shops.id", index=True)
    day: int
    date: str
    kind: str = "daily"  # daily | chat
    status: str = RunStatus.RUNNING.value
    thread_id: str
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    summary: dict[str, Any] | None = Field(default=None, sa_type=NullableJSON)


class Proposal(SQLModel, table=True):
    """An action the planner, the model or the owner proposed, and everything that happened to it."""

    __tablename__ = "proposals"
    __table_args__ = (Index("ix_proposals_shop_state", "shop_id", "state"),)

    id: str = Field(primary_key=True)
    run_id: str = Field(foreign_key="runs.id", index=True)
    shop_id: str = Field(foreign_key="shops.id")
    kind: str
    target: str
    action: dict[str, Any] = Field(sa_type=JSON)
    rationale: str = Field(default="", sa_type=Text)
    expected_effect: dict[str, Any] | None = Field(default=None, sa_type=NullableJSON)
    proposed_by: str
    state: str = ProposalState.PROPOSED.value
    decision: dict[str, Any] | None = Field(default=None, sa_type=NullableJSON)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_by: str | None = None
    result: dict[str, Any] | None = Field(default=None, sa_type=NullableJSON)
    idempotency_key: str | None = Field(default=None, index=True)
    replaces: str | None = Field(default=None, foreign_key="proposals.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditEvent(SQLModel, table=True):
    """One line of the append-only audit log."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_shop_id_id", "shop_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    shop_id: str = Field(foreign_key="shops.id")
    run_id: str | None = Field(default=None, index=True)
    proposal_id: str | None = Field(default=None, index=True)
    actor: str
    event: str
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Report(SQLModel, table=True):
    """The daily report of one shop in one language; saving again replaces it."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("shop_id", "date", "locale", name="uq_reports_shop_date_locale"),)

    id: int | None = Field(default=None, primary_key=True)
    shop_id: str = Field(foreign_key="shops.id", index=True)
    run_id: str | None = Field(default=None, foreign_key="runs.id")
    date: str
    locale: str
    markdown: str = Field(sa_type=Text)
    html: str = Field(default="", sa_type=Text)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PlannerMemory(SQLModel, table=True):
    """What the planner learnt about a shop's SKUs on earlier days (its estimates), carried to the next run."""

    __tablename__ = "planner_memory"

    shop_id: str = Field(foreign_key="shops.id", primary_key=True)
    body: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ShopToken(SQLModel, table=True):
    """An owner's API token for one shop, kept only as its SHA-256 hash."""

    __tablename__ = "shop_tokens"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, index=True)
    shop_id: str = Field(foreign_key="shops.id", index=True)
    label: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_audit_change(mapper: Any, connection: Any, target: AuditEvent) -> None:
    raise AuditLogIsAppendOnly(f"audit event {target.id} cannot be changed or deleted: the audit log is append-only")


@event.listens_for(OrmSession, "do_orm_execute")
def _refuse_bulk_audit_change(state: ORMExecuteState) -> None:
    # Bulk `update(AuditEvent)` / `delete(AuditEvent)` statements bypass the mapper events above.
    if (state.is_update or state.is_delete) and any(m.class_ is AuditEvent for m in state.all_mappers):
        raise AuditLogIsAppendOnly("bulk update or delete of audit events: the audit log is append-only")


_Row = TypeVar("_Row", bound=SQLModel)


def to_json(value: Any) -> Any:
    """`value` as plain JSON types (pydantic models, enums and datetimes converted)."""
    return to_jsonable_python(value)


def require_row(session: Session, model: type[_Row], key: Any) -> _Row:
    """The row with this primary key; NotFound if there is none."""
    row = session.get(model, key)
    if row is None:
        raise NotFound(f"{model.__name__.lower()} {key!r} not found")
    return row


def audit(
    session: Session, *, shop_id: str, event: AuditKind | str, actor: str, run_id: str | None = None,
    proposal_id: str | None = None, detail: dict[str, Any] | None = None, now: datetime | None = None,
) -> AuditEvent:
    """Append one event to the audit log (there is no way to change or remove it)."""
    if not actor.strip():
        raise ValueError("audit: every event needs an actor")
    row = AuditEvent(at=as_utc(now), shop_id=shop_id, run_id=run_id, proposal_id=proposal_id, actor=actor,
                     event=AuditKind(event).value, detail=to_json(detail or {}))
    session.add(row)
    return row
