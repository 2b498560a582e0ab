"""Turning guarded actions into platform writes, exactly once.

The idempotency key of a write is derived from the run and the action itself, so a run that
is resumed after a crash sends the same key and the platform applies the write only once.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from marketplace.client import PlatformClient
from policies.actions import (
    WHY_FIELDS,
    Action,
    CreateCoupon,
    SetBid,
    SetBudget,
    SetCampaignMode,
    SetCampaignStatus,
    StopCoupon,
)


def fingerprint(action: Action) -> str:
    """What the action does (not why): the same change always has the same fingerprint."""
    body = action.model_dump(mode="json", exclude=set(WHY_FIELDS))
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]


def action_key(run_id: str, action: Action) -> str:
    return f"xiaoer-{run_id}-{fingerprint(action)}"


def execute(client: PlatformClient, action: Action, key: str) -> dict[str, Any]:
    """One platform write for one action (retries and backoff live in the client)."""
    match action:
        case SetBid():
            return client.set_bid(action.campaign_id, action.bid, key=key)
        case SetBudget():
            return client.set_budget(action.campaign_id, action.budget, key=key)
        case SetCampaignStatus():
            return client.set_status(action.campaign_id, action.status.value, key=key)
        case SetCampaignMode():
            return client.set_mode(action.campaign_id, action.mode.value, action.target_roi, key=key)
        case CreateCoupon():
            body = action.platform_body()
            start, end = body.pop("start_day"), body.pop("end_day")
            return client.create_coupon({**body, "start_day": start, "valid_days": end - start + 1}, key=key)
        case StopCoupon():
            return client.stop_coupon(action.coupon_id, key=key)
    raise TypeError(f"not an action: {action!r}")

