"""Daily runs (start one now, their status, one with its proposals and audit trail) and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status
from sqlmodel import Session

from agent.service.deps import CurrentOwner, EngineDep, JobsDep, SessionDep
from agent.service.errors import ApiError, not_found, responses
from agent.service.schedule import push_later
from agent.service.schemas import AuditEventPublic, ProposalPublic, RunDetail, RunPublic, RunViewPublic
from agent.storage import (
    AuditKind,
    audit_log,
    current_policy,
    get_run,
    list_runs,
    proposals_for_run,
    session_scope,
)

router = APIRouter(prefix="/shops/{shop_id}", tags=["runs"], responses=responses(401, 404))


@router.post("/runs", status_code=status.HTTP_201_CREATED, response_model=RunViewPublic,
             summary="Start today's run now", responses=responses(409, 502))
def start_run(request: Request, owner: CurrentOwner, jobs: JobsDep, engine: EngineDep) -> RunViewPublic:
    """Run the agent's daily job for the platform's current day: observe, plan, guard, execute what
    may run on its own, queue the rest for approval, report. One run per shop per day (409 after that).
    The report also goes to the shop's webhook, as after a scheduled run."""
    with session_scope(engine) as session:  # closed before the run: it writes in transactions of its own
        require_ready(session, owner.shop_id)
    view = jobs.run_daily(owner.shop_id, actor=owner.actor)
    push_later(request.app.state, owner.shop_id, view.run_id)
    return RunViewPublic.of(view)


def require_ready(session: Session, shop_id: str) -> None:
    """409 unless the shop has a policy: a run or a chat needs the owner's limits.

    (Missing platform settings surface as PlatformNotConfigured, also a 409, from the platform factory.)
    """
    if current_policy(session, shop_id) is None:
        raise ApiError(409, f"shop {shop_id!r} has no policy yet: PUT /shops/{shop_id}/policy first; the agent "
                       "does nothing without the owner's limits", code="no_policy")


@router.get("/runs", response_model=list[RunPublic], summary="List runs")
def get_runs(owner: CurrentOwner, session: SessionDep,
             limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[RunPublic]:
    """The shop's runs with their status, newest first."""
    return [RunPublic.of(r) for r in list_runs(session, owner.shop_id, limit=limit)]


@router.get("/runs/{run_id}", response_model=RunDetail, summary="Show a run")
def get_run_detail(run_id: Annotated[str, Path(max_length=128)], owner: CurrentOwner,
                   session: SessionDep) -> RunDetail:
    """One run with every proposal it made (and the guard's verdicts) and its audit trail."""
    run = get_run(session, run_id)
    if run is None or run.shop_id != owner.shop_id:
        raise not_found(f"run {run_id!r}")
    proposals = [ProposalPublic.of(p) for p in proposals_for_run(session, run.id)]
    trail = [AuditEventPublic.of(e) for e in audit_log(session, owner.shop_id, run_id=run.id, limit=10_000)]
    return RunDetail(**RunPublic.of(run).model_dump(), proposals=proposals, audit=trail)


@router.get("/audit", response_model=list[AuditEventPublic], summary="Read the audit log", tags=["audit"],
            responses=responses(422))
def get_audit(
    owner: CurrentOwner, session: SessionDep,
    run_id: Annotated[str | None, Query(max_length=128, description="Only this run's events.")] = None,
    event: Annotated[AuditKind | None, Query(description="Only events of this kind.")] = None,
    since: Annotated[datetime | None, Query(description="Only events at or after this time (with its zone, "
                                                        "e.g. 2026-03-02T00:00:00Z).")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[AuditEventPublic]:
    """The newest `limit` matching events, in the order they happened. The log is append-only."""
    if since is not None and since.tzinfo is None:
        raise ApiError(422, "since: give the time zone too, e.g. 2026-03-02T00:00:00Z or +08:00", field="since")
    rows = audit_log(session, owner.shop_id, run_id=run_id, event=event, since=since, limit=limit)
    return [AuditEventPublic.of(e) for e in rows]
