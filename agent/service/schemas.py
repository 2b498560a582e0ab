"""Request and response bodies of the owner API (`XCreate / XUpdate → XPublic`, as in the FastAPI template)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from agent.i18n import Locale
from agent.jobs import RunView
from agent.storage import AuditEvent, PolicyVersion, Proposal, ProposalState, Report, Run, Shop
from policies.limits import Policy

ShopId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
                              description="Letters, digits, `_`, `.` and `-`.")]
RunTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM, the shop's local time.")]
# A person may name a thread; generated ones are 32 hex digits.
ThreadId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- shops and tokens -------------------------------------------------------------------------------------------------

class _ShopSettings(_In):
    locale: Locale | None = Field(None, description="Language of reports and chat.")
    timezone: str | None = Field(None, max_length=64, description="IANA zone, e.g. Asia/Shanghai.")
    daily_run_time: RunTime | None = None
    platform_url: AnyHttpUrl | None = Field(None, description="Base URL of the marketplace platform API.")
    platform_token: SecretStr | None = Field(
        None, min_length=1, max_length=500, description="The shop's platform API token; stored, never shown again.")
    webhook_url: AnyHttpUrl | None = Field(
        None, description="Where the daily report is pushed, signed; setting the first one makes the signing secret.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai") from None
        return value

    def settings(self) -> dict[str, Any]:
        """The given settings as storage.save_shop takes them (secrets in clear, URLs as text)."""
        out: dict[str, Any] = {}
        for key in self.model_fields_set & set(_ShopSettings.model_fields):
            value = getattr(self, key)
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            elif value is not None and key.endswith("_url"):
                value = str(value).rstrip("/")  # as the admin wrote it, not with the slash URL parsing adds
            out[key] = value
        return out


class ShopCreate(_ShopSettings):
    """A new shop: its settings, and optionally its first policy."""

    id: ShopId
    name: str = Field(min_length=1, max_length=200)
    policy: Policy | None = Field(None, description="The initial policy; the owner changes it later.")


class ShopUpdate(_ShopSettings):
    """Changed settings of a shop; what is left out stays as it is."""

    name: str | None = Field(None, min_length=1, max_length=200)


class ShopPublic(BaseModel):
    """A shop's settings as the API shows them: the platform token and webhook secret only as whether one is set."""

    id: str
    name: str
    locale: str
    timezone: str
    daily_run_time: str
    platform_url: str | None
    webhook_url: str | None
    has_platform_token: bool
    has_webhook_secret: bool = Field(description="Whether reports to the webhook are signed; if not, they go unsigned.")
    created_at: datetime

    @classmethod
    def of(cls, shop: Shop) -> ShopPublic:
        return cls(id=shop.id, name=shop.name, locale=shop.locale, timezone=shop.timezone,
                   daily_run_time=shop.daily_run_time, platform_url=shop.platform_url, webhook_url=shop.webhook_url,
                   has_platform_token=bool(shop.platform_token), has_webhook_secret=bool(shop.webhook_secret),
                   created_at=shop.created_at)


class ShopSaved(ShopPublic):
    """A shop as the admin just created or changed it; `webhook_secret` only in the answer that made it."""

    webhook_secret: str | None = Field(
        None, description="The new webhook signing secret (`whsec_…`) when this change made one: give it to the "
        "receiver, it is not shown again. Null when nothing made one.")

    @classmethod
    def saved(cls, shop: Shop, new_secret: str | None) -> ShopSaved:
        return cls(**ShopPublic.of(shop).model_dump(), webhook_secret=new_secret)


class TokenCreate(_In):
    label: str = Field("owner", min_length=1, max_length=80,
                       description="Who holds the token; recorded as the actor of what they do.")


class TokenIssued(BaseModel):
    """A new owner token. `token` is shown this once; only its hash is kept."""

    id: int
    shop_id: str
    label: str
    token: str


class WebhookSecretIssued(BaseModel):
    """A shop's new webhook signing secret, shown this once. Reports are signed with it from now on, and for 24 hours
    also with the previous one (two signatures), so a receiver has a day to switch."""

    shop_id: str
    webhook_secret: str = Field(description="`whsec_` and base64 of 32 random bytes (Standard Webhooks).")


class TokenPublic(BaseModel):
    id: int
    label: str
    created_at: datetime


# --- proposals and decisions ------------------------------------------------------------------------------------------

class ProposalPublic(BaseModel):
    """A proposed action, why, the guard's verdict with its numbers, and what became of it."""

    id: str
    run_id: str
    kind: str
    target: str
    action: dict[str, Any]
    rationale: str
    expected_effect: dict[str, Any] | None
    proposed_by: str
    state: ProposalState
    decision: dict[str, Any] | None = Field(description="The guard's verdict: decision, reasons, limits and numbers.")
    expires_at: datetime | None
    approved_by: str | None
    result: dict[str, Any] | None
    replaces: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Proposal) -> ProposalPublic:
        return cls.model_validate(p, from_attributes=True)


EditedAction = Annotated[dict[str, Any], Field(
    min_length=1, description="The fields of the action to change (e.g. `{\"bid\": 1.2}`) or the whole edited "
    "action; what it acts on (kind, SKU, campaign, coupon) cannot change.",
    examples=[{"bid": 1.2}, {"budget": 80}, {"value": 5, "threshold": 59}])]


class DecisionIn(_In):
    """The owner's answer to one pending proposal; `action` (the edit) only with `edit`."""

    decision: Literal["approve", "reject", "edit"]
    action: EditedAction | None = None

    @model_validator(mode="after")
    def _action_only_for_edit(self) -> Self:
        if self.decision == "edit" and self.action is None:
            raise ValueError("action: an edit needs the edited action")
        if self.decision != "edit" and self.action is not None:
            raise ValueError(f"action: only an edit takes an action, not {self.decision}")
        return self


class DecideRequest(_In):
    """Answers to many pending proposals at once: proposal id → decision. All are checked before any applies."""

    decisions: dict[str, DecisionIn] = Field(min_length=1, max_length=500)


class RunViewPublic(BaseModel):
    """Where a run stands after it was started or resumed."""

    run_id: str
    shop_id: str
    date: str
    status: str
    pending: list[str] = Field(description="Ids of proposals waiting for the owner.")
    counts: dict[str, int] = Field(description="Outcome status → how many actions.")

    @classmethod
    def of(cls, view: RunView) -> RunViewPublic:
        return cls(run_id=view.run_id, shop_id=view.shop_id, date=view.date, status=view.status,
                   pending=list(view.pending), counts=dict(view.counts))


class DecideResult(BaseModel):
    """The runs the decisions resumed, and the decided proposals (with an edit's replacement) as they are now."""

    runs: list[RunViewPublic]
    proposals: list[ProposalPublic]


# --- runs, audit, reports ---------------------------------------------------------------------------------------------

class RunPublic(BaseModel):
    id: str
    day: int
    date: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    summary: dict[str, Any] | None

    @classmethod
    def of(cls, run: Run) -> RunPublic:
        return cls.model_validate(run, from_attributes=True)


class AuditEventPublic(BaseModel):
    id: int
    at: datetime
    run_id: str | None
    proposal_id: str | None
    actor: str
    event: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventPublic:
        return cls.model_validate(event, from_attributes=True)


class RunDetail(RunPublic):
    """A run with every proposal it made and its audit trail."""

    proposals: list[ProposalPublic]
    audit: list[AuditEventPublic]


class ReportSummary(BaseModel):
    date: str
    locale: str
    run_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, report: Report) -> ReportSummary:
        return cls.model_validate(report, from_attributes=True)


class ReportPublic(ReportSummary):
    """A daily report: its figures (`data`) and its Markdown text."""

    markdown: str
    data: dict[str, Any]


# --- policy -----------------------------------------------------------------------------------------------------------

class PolicyPublic(BaseModel):
    """One version of the shop's policy: who changed it, when, and the whole policy."""

    version: int
    changed_by: str
    changed_at: datetime
    note: str
    policy: dict[str, Any]

    @classmethod
    def of(cls, row: PolicyVersion) -> PolicyPublic:
        return cls(version=row.version, changed_by=row.changed_by, changed_at=row.changed_at, note=row.note,
                   policy=row.body)


class PolicyUpdate(_In):
    """The whole new policy (left-out limits take their defaults) and a note on why."""

    policy: Policy
    note: str = Field("", max_length=1000)


# --- chat and health --------------------------------------------------------------------------------------------------

class ChatRequest(_In):
    message: str = Field(min_length=1, max_length=8000, description="What the owner says or asks.")
    thread_id: ThreadId | None = Field(None, description="Continue this conversation; omit to start a new one.")


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]
