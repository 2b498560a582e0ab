"""The approval queue: list proposals with the guard's numbers, approve, reject or edit them (one or many)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from sqlmodel import Session, col, or_, select

from agent.jobs import OwnerDecision, RunView
from agent.service.deps import CurrentOwner, EngineDep, SessionDep
from agent.service.errors import ApiError, responses
from agent.service.schedule import push_later
from agent.service.schemas import DecideRequest, DecideResult, EditedAction, ProposalPublic, RunViewPublic
from agent.storage import Proposal, ProposalState, get_proposal, pending_proposals, session_scope

router = APIRouter(prefix="/shops/{shop_id}/proposals", tags=["proposals"], responses=responses(401, 404))

ProposalId = Annotated[str, Path(description="The proposal's id.", max_length=64)]


@router.get("", response_model=list[ProposalPublic], summary="List proposals")
def list_proposals(
    owner: CurrentOwner, session: SessionDep,
    state: Annotated[ProposalState | None, Query(description="Only proposals in this state.")] = None,
    run_id: Annotated[str | None, Query(max_length=64, description="Only proposals of this run.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[ProposalPublic]:
    """The shop's proposals with rationale and the guard's verdict (decision, reasons, numbers).

    `state=pending` is the approval queue, oldest first; anything else lists newest first.
    """
    if state is ProposalState.PENDING and run_id is None:
        rows = pending_proposals(session, owner.shop_id)[:limit]
    else:
        query = select(Proposal).where(Proposal.shop_id == owner.shop_id)
        if state is not None:
            query = query.where(Proposal.state == state.value)
        if run_id is not None:
            query = query.where(Proposal.run_id == run_id)
        rows = list(session.exec(query.order_by(col(Proposal.created_at).desc(), col(Proposal.id)).limit(limit)))
    return [ProposalPublic.of(p) for p in rows]


@router.get("/{proposal_id}", response_model=ProposalPublic, summary="Show a proposal")
def show_proposal(proposal_id: ProposalId, owner: CurrentOwner, session: SessionDep) -> ProposalPublic:
    """One proposal, with its rationale, the guard's verdict and its outcome."""
    return ProposalPublic.of(_own(session, owner.shop_id, proposal_id))


@router.post("/{proposal_id}/approve", response_model=DecideResult, summary="Approve a pending proposal",
             responses=responses(409, 410))
def approve(request: Request, proposal_id: ProposalId, owner: CurrentOwner, engine: EngineDep) -> DecideResult:
    """Approve it: its paused run resumes and executes it. An expired proposal never executes (410)."""
    return _decide(request, engine, owner, {proposal_id: OwnerDecision("approve")})


@router.post("/{proposal_id}/reject", response_model=DecideResult, summary="Reject a pending proposal",
             responses=responses(409, 410))
def reject(request: Request, proposal_id: ProposalId, owner: CurrentOwner, engine: EngineDep) -> DecideResult:
    """Reject it: it never executes; its run carries on with the rest."""
    return _decide(request, engine, owner, {proposal_id: OwnerDecision("reject")})


@router.post("/{proposal_id}/edit", response_model=DecideResult, summary="Edit a pending proposal and approve the edit",
             responses=responses(409, 410, 422))
def edit(
    request: Request, proposal_id: ProposalId, owner: CurrentOwner, engine: EngineDep,
    action: Annotated[EditedAction, Body()],
) -> DecideResult:
    """Replace the proposal with the edited action. The edit goes through the guard again inside the run:
    one beyond a hard limit is denied, whatever the owner says."""
    return _decide(request, engine, owner, {proposal_id: OwnerDecision("edit", action)})


@router.post("/decide", response_model=DecideResult, summary="Decide many pending proposals at once",
             responses=responses(409, 410, 422))
def decide_many(request: Request, body: DecideRequest, owner: CurrentOwner,
                engine: EngineDep) -> DecideResult:
    """Approve, reject or edit several proposals in one go; all are checked before any applies."""
    decisions = {pid: OwnerDecision(d.decision, d.action) for pid, d in body.decisions.items()}
    return _decide(request, engine, owner, decisions, field="decisions")


def _decide(request: Request, engine: EngineDep, owner: CurrentOwner,
            decisions: dict[str, OwnerDecision], field: str | None = None) -> DecideResult:
    """Hand the decisions to Jobs (which resumes the runs), send the resumed runs' reports to the webhook
    (as the page does), and show the proposals as they are afterwards."""
    with session_scope(engine) as session:  # closed before Jobs writes: its runs use their own transactions
        for pid in decisions:
            _own(session, owner.shop_id, pid, field=f"{field}.{pid}" if field else None)
    views, proposals = apply_decisions(request.app.state, owner.shop_id, owner.actor, decisions)
    return DecideResult(runs=[RunViewPublic.of(v) for v in views], proposals=proposals)


def apply_decisions(state: Any, shop_id: str, actor: str,
                    decisions: dict[str, OwnerDecision]) -> tuple[list[RunView], list[ProposalPublic]]:
    """The one way an owner's answers are applied (API, page, chat): Jobs resumes the runs, their reports go to
    the webhook, and the answered proposals (and their edits) come back as they are afterwards."""
    views = state.jobs.decide(shop_id, decisions, actor=actor)
    for view in views:
        push_later(state, shop_id, view.run_id)
    with session_scope(state.engine) as session:
        ids = list(decisions)
        rows = session.exec(select(Proposal).where(
            Proposal.shop_id == shop_id,
            or_(col(Proposal.id).in_(ids), col(Proposal.replaces).in_(ids))).order_by(col(Proposal.created_at)))
        return views, [ProposalPublic.of(p) for p in rows]


def _own(session: Session, shop_id: str, proposal_id: str, *, field: str | None = None) -> Proposal:
    """The shop's proposal; 404 for an unknown id and for another shop's alike."""
    proposal = get_proposal(session, proposal_id)
    if proposal is None or proposal.shop_id != shop_id:
        raise ApiError(404, f"proposal {proposal_id!r} not found", field=field)
    return proposal
