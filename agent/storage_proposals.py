"""Proposals and their state machine: each move checked against `TRANSITIONS` and audited in the same transaction."""

import hashlib
import json
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import update
from sqlmodel import Session, col, select

from agent.storage_models import (
    TRANSITIONS,
    ApprovalExpired,
    AuditKind,
    InvalidTransition,
    Proposal,
    ProposalConflict,
    ProposalState,
    Run,
    as_utc,
    audit,
    require_row,
    to_json,
)

ProposedBy = Literal["planner", "llm", "owner-chat", "owner-edit"]


def proposal_id_for(run_id: str, fingerprint: str) -> str:
    """The proposal's id: the same run and action fingerprint always give the same id."""
    return hashlib.sha256(f"{run_id}\x1f{fingerprint}".encode()).hexdigest()[:32]


def upsert_proposal(
    session: Session, *, run_id: str, fingerprint: str, kind: str, target: str, action: Any,
    rationale: str = "", expected_effect: Any = None, proposed_by: ProposedBy = "planner",
    actor: str | None = None, idempotency_key: str | None = None, replaces: str | None = None,
    now: datetime | None = None,
) -> Proposal:
    """Record a proposal, or return the one already recorded for this run and fingerprint.

    A re-proposal with the same id but a different kind, target or action raises ProposalConflict:
    the fingerprint must identify the action's content.
    """
    if proposed_by not in get_args(ProposedBy):
        raise ValueError(f"proposed_by must be one of {', '.join(get_args(ProposedBy))}, got {proposed_by!r}")
    pid, action = proposal_id_for(run_id, fingerprint), to_json(action)
    existing = session.get(Proposal, pid)
    if existing is not None:
        if (existing.kind, existing.target, existing.action) != (kind, target, action):
            raise ProposalConflict(f"proposal {pid} (fingerprint {fingerprint!r}) exists with a different action: "
                                   f"{existing.kind} {existing.target} {existing.action}")
        return existing
    run = require_row(session, Run, run_id)
    now = as_utc(now)
    proposal = Proposal(
        id=pid, run_id=run_id, shop_id=run.shop_id, kind=kind, target=target, action=action, rationale=rationale,
        expected_effect=to_json(expected_effect), proposed_by=proposed_by, idempotency_key=idempotency_key,
        replaces=replaces, created_at=now, updated_at=now,
    )
    session.add(proposal)
    audit(session, shop_id=run.shop_id, run_id=run_id, proposal_id=pid, event=AuditKind.PROPOSED,
          actor=actor or proposed_by, now=now,
          detail={"kind": kind, "target": target, "action": action, "rationale": rationale,
                  "expected_effect": proposal.expected_effect, "replaces": replaces})
    session.flush()
    return proposal


# The guard's verdict each guard transition must carry.
_VERDICT_FOR = {ProposalState.DENIED: "deny", ProposalState.PENDING: "needs_approval", ProposalState.APPROVED: "allow"}


def transition(
    session: Session, proposal_id: str, to_state: ProposalState | str, actor: str,
    *, now: datetime | None = None, **details: Any,
) -> Proposal:
    """Move a proposal along an allowed edge and write its audit event in the same transaction.

    Details go to the audit event; some also land on the proposal: `decision` (the guard verdict,
    required when leaving `proposed`), `expires_at` (when entering `pending`), `result` (the
    platform's answer). Raises InvalidTransition for an edge the state machine lacks, or when
    another writer moved the proposal first; ApprovalExpired for an approval past `expires_at`.
    """
    now = as_utc(now)
    proposal = require_row(session, Proposal, proposal_id)
    old, new = ProposalState(proposal.state), ProposalState(to_state)
    if new not in TRANSITIONS[old]:
        raise InvalidTransition(f"proposal {proposal_id}", old, new, TRANSITIONS[old])
    changes: dict[str, Any] = {"state": new.value, "updated_at": now}
    if old is ProposalState.PROPOSED:
        changes["decision"] = _guard_verdict(proposal_id, new, details.get("decision"))
    if new is ProposalState.PENDING:
        changes["expires_at"] = details.get("expires_at")
    if new is ProposalState.APPROVED:
        if proposal.expires_at is not None and now >= proposal.expires_at:
            raise ApprovalExpired(f"proposal {proposal_id} expired at {proposal.expires_at.isoformat()}; "
                                  "an approval after that never executes")
        changes["approved_by"] = actor
    if "result" in details:
        changes["result"] = to_json(details["result"])
    # Compare-and-set on the old state: of two writers racing on one proposal, only one wins.
    moved = session.exec(update(Proposal).where(col(Proposal.id) == proposal_id, col(Proposal.state) == old.value)
                         .values(**changes))
    if moved.rowcount != 1:
        session.refresh(proposal)
        raise InvalidTransition(f"proposal {proposal_id} (changed concurrently)", proposal.state, new,
                                TRANSITIONS[ProposalState(proposal.state)])
    session.refresh(proposal)
    event = AuditKind.GUARD_DECISION if old is ProposalState.PROPOSED else AuditKind(new.value)
    audit(session, shop_id=proposal.shop_id, run_id=proposal.run_id, proposal_id=proposal_id, event=event,
          actor=actor, now=now, detail={"from": old.value, "to": new.value, **details})
    session.flush()
    return proposal


def _guard_verdict(pid: str, new: ProposalState, decision: Any) -> dict[str, Any]:
    verdict = to_json(decision)
    if not isinstance(verdict, dict) or verdict.get("decision") != _VERDICT_FOR[new]:
        raise ValueError(f"proposal {pid}: moving to {new.value} needs the guard's verdict with "
                         f"decision={_VERDICT_FOR[new]!r}, got {verdict!r}")
    return verdict


def edit_proposal(
    session: Session, proposal_id: str, *, action: Any, actor: str, target: str | None = None,
    rationale: str = "", expected_effect: Any = None, idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Proposal:
    """The owner's edit of a pending proposal: the old one is rejected, a new one (`replaces` it) awaits the guard."""
    old = require_row(session, Proposal, proposal_id)
    action = to_json(action)
    fingerprint = _edit_fingerprint(old.id, action)
    new_id = proposal_id_for(old.run_id, fingerprint)
    transition(session, old.id, ProposalState.REJECTED, actor, now=now, reason="edited by the owner",
               replaced_by=new_id)
    return upsert_proposal(
        session, run_id=old.run_id, fingerprint=fingerprint, kind=old.kind, target=target or old.target,
        action=action, rationale=rationale or f"owner edit of proposal {old.id}", expected_effect=expected_effect,
        proposed_by="owner-edit", actor=actor, idempotency_key=idempotency_key, replaces=old.id, now=now,
    )


def edited_proposal_id(run_id: str, proposal_id: str, action: Any) -> str:
    """The id `edit_proposal` gives the owner's edit of `proposal_id` to `action`: the same edit, the same id."""
    return proposal_id_for(run_id, _edit_fingerprint(proposal_id, to_json(action)))


def _edit_fingerprint(proposal_id: str, action: Any) -> str:
    digest = hashlib.sha256(json.dumps(action, sort_keys=True).encode()).hexdigest()[:16]
    return f"owner-edit:{proposal_id}:{digest}"


def get_proposal(session: Session, proposal_id: str) -> Proposal | None:
    """The proposal, or None."""
    return session.get(Proposal, proposal_id)


def pending_proposals(session: Session, shop_id: str) -> list[Proposal]:
    """The shop's approval queue, oldest first."""
    query = select(Proposal).where(Proposal.shop_id == shop_id, Proposal.state == ProposalState.PENDING.value)
    return list(session.exec(query.order_by(col(Proposal.created_at), col(Proposal.id))).all())


DECIDED = (ProposalState.EXECUTED, ProposalState.FAILED, ProposalState.DENIED, ProposalState.REJECTED,
           ProposalState.EXPIRED)


def decided_proposals(session: Session, shop_id: str, *, limit: int = 200) -> list[tuple[str, Proposal]]:
    """The shop's proposals that came to an end (executed, failed, denied, rejected, expired), with the date of the
    run that proposed them: the latest run date first, in the order proposed within it."""
    query = (select(Run.date, Proposal).join(Run, col(Run.id) == col(Proposal.run_id))
             .where(Proposal.shop_id == shop_id, col(Proposal.state).in_([s.value for s in DECIDED]))
             .order_by(col(Run.date).desc(), col(Proposal.created_at), col(Proposal.id)).limit(limit))
    return [(date, proposal) for date, proposal in session.exec(query).all()]


def proposals_for_run(session: Session, run_id: str) -> list[Proposal]:
    """Every proposal of a run, oldest first."""
    query = select(Proposal).where(Proposal.run_id == run_id).order_by(col(Proposal.created_at), col(Proposal.id))
    return list(session.exec(query).all())


def expire_due(session: Session, now: datetime | None = None, shop_id: str | None = None) -> list[Proposal]:
    """Expire every pending proposal whose `expires_at` has passed (optionally of one shop); returns them."""
    now = as_utc(now)
    query = select(Proposal).where(Proposal.state == ProposalState.PENDING.value,
                                   col(Proposal.expires_at).is_not(None), col(Proposal.expires_at) <= now)
    if shop_id is not None:
        query = query.where(Proposal.shop_id == shop_id)
    due = list(session.exec(query.order_by(col(Proposal.expires_at))).all())
    return [transition(session, p.id, ProposalState.EXPIRED, "system", now=now, expires_at=p.expires_at) for p in due]
