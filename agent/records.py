"""A run's state, projected into storage: proposals, the guard's verdicts, the owner's answers, the results.

`sync` is called after every node with the state so far. It only ever moves a proposal forward
from the state it is in, so calling it again (a resumed node runs again) records nothing twice.
The checkpoint is the source of truth; storage is what owners, the API and the audit log read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from agent.execute import action_key
from agent.storage_models import Proposal, ProposalState
from agent.storage_proposals import edit_proposal, edited_proposal_id, transition, upsert_proposal
from policies.actions import parse_action

_GUARD_STATE = {"allow": ProposalState.APPROVED, "needs_approval": ProposalState.PENDING, "deny": ProposalState.DENIED}
_P = ProposalState


def target_of(action: dict[str, Any]) -> str:
    """What an action acts on: its campaign, coupon or SKU, else the shop."""
    return action.get("campaign_id") or action.get("coupon_id") or action.get("sku") or "shop"


def sync(session: Session, state: Mapping[str, Any], *, expiry_hours: float, now: datetime) -> None:
    """Bring storage up to `state`: record new proposals, then verdicts, then outcomes."""
    run_id = state["run_id"]
    for p in state.get("proposals", []):
        upsert_proposal(session, run_id=run_id, fingerprint=p["fingerprint"], kind=p["action"]["kind"],
                        target=target_of(p["action"]), action=p["action"], rationale=p["action"].get("rationale", ""),
                        expected_effect=p["action"].get("expected"), proposed_by=p["proposed_by"],
                        idempotency_key=_key(run_id, p["action"]), now=now)
    expires = None
    if state.get("started_at"):
        expires = datetime.fromisoformat(state["started_at"]) + timedelta(hours=expiry_hours)
    for p, v in zip(state.get("proposals", []), state.get("verdicts", []), strict=False):
        _move(session, p["id"], _P.PROPOSED, _GUARD_STATE[v["decision"]], "guard", now,
              decision=v, expires_at=expires if v["decision"] == "needs_approval" else None)
    for o in state.get("outcomes", []):
        _outcome(session, run_id, o, now)


def _outcome(session: Session, run_id: str, o: dict[str, Any], now: datetime) -> None:
    pid, status, by = o["proposal_id"], o["status"], o.get("by", "owner")
    if status in ("rejected", "expired"):
        at = datetime.fromisoformat(o["at"]) if o.get("at") else now
        _move(session, pid, _P.PENDING, _P(status), by if status == "rejected" else "system", at)
        return
    if status not in ("executed", "failed", "denied"):
        return  # pending: still the owner's; denied by the guard at first sight: recorded with the verdicts
    if o.get("edited"):
        pid = _edit(session, run_id, pid, o, by, now)
        _move(session, pid, _P.PROPOSED, _GUARD_STATE[o["verdict"]["decision"]], by, now, decision=o["verdict"])
    else:
        at = datetime.fromisoformat(o["at"]) if o.get("at") else now  # when the owner answered
        _move(session, pid, _P.PENDING, _P.APPROVED, by, at)
    if status == "denied":  # the owner approved, but the guard, checking again with today's ledger, said no
        if not o.get("edited"):
            _move(session, pid, _P.APPROVED, _P.FAILED, "guard", now,
                  result={"error": "denied on re-check after approval", "verdict": o["verdict"]})
        return
    result = o.get("result") if status == "executed" else {"error": o.get("error"), "attempts": o.get("attempts")}
    _move(session, pid, _P.APPROVED, _P(status), "platform", now, result=result, idempotency_key=o.get("key"))


def _edit(session: Session, run_id: str, pid: str, o: dict[str, Any], by: str, now: datetime) -> str:
    """The owner's edit as its own proposal (replacing `pid`), recorded once; returns its id."""
    new_id = edited_proposal_id(run_id, pid, o["action"])
    if session.get(Proposal, new_id) is None:
        edit_proposal(session, pid, action=o["action"], actor=by, target=target_of(o["action"]),
                      rationale=o["action"].get("rationale", ""), expected_effect=o["action"].get("expected"),
                      idempotency_key=_key(run_id, o["action"]), now=now)
    return new_id


def _move(session: Session, pid: str, from_state: ProposalState, to_state: ProposalState, actor: str, now: datetime,
          **details: Any) -> None:
    """`pid` from `from_state` to `to_state`, only if it is in `from_state` now (so a replay is a no-op)."""
    row = session.get(Proposal, pid)
    if row is not None and row.state == from_state.value:
        transition(session, pid, to_state, actor, now=now, **{k: v for k, v in details.items() if v is not None})


def _key(run_id: str, action: dict[str, Any]) -> str:
    return action_key(run_id, parse_action(action))
