"""The shop's policy: read it, replace it (owner tokens only), and its version history."""

from __future__ import annotations

from fastapi import APIRouter

from agent.service.deps import CurrentOwner, SessionDep
from agent.service.errors import not_found, responses
from agent.service.schemas import PolicyPublic, PolicyUpdate
from agent.storage import current_policy, policy_history, save_policy

router = APIRouter(prefix="/shops/{shop_id}/policy", tags=["policy"], responses=responses(401, 404))


@router.get("", response_model=PolicyPublic, summary="The current policy")
def get_policy(owner: CurrentOwner, session: SessionDep) -> PolicyPublic:
    """The newest version of the shop's policy: every limit the guard checks."""
    row = current_policy(session, owner.shop_id)
    if row is None:
        raise not_found(f"policy of shop {owner.shop_id!r} (none set yet; PUT one)")
    return PolicyPublic.of(row)


@router.put("", response_model=PolicyPublic, summary="Replace the policy", responses=responses(422))
def put_policy(body: PolicyUpdate, owner: CurrentOwner, session: SessionDep) -> PolicyPublic:
    """Store the whole new policy as the next version, recorded with the token's label and the time.

    Only an owner token can do this; the agent and chat have no way to. A bad policy is refused with
    422 naming the field. `version`, `changed_by` and `changed_at` in the body are ignored: the
    service sets them.
    """
    row = save_policy(session, owner.shop_id, body.policy.model_dump(mode="json"), owner.actor, body.note)
    return PolicyPublic.of(row)


@router.get("/history", response_model=list[PolicyPublic], summary="Every version of the policy")
def get_policy_history(owner: CurrentOwner, session: SessionDep) -> list[PolicyPublic]:
    """All versions, oldest first."""
    return [PolicyPublic.of(row) for row in policy_history(session, owner.shop_id)]
