"""The plan step when a model is configured: the built-in planner's candidates, then the model with the tools.

The model sees the candidates and the shop's recent results as data, may check them with the
read and analysis tools, and records what it wants with the `propose_*` tools. Only what it
records becomes a proposal, besides the candidates that keep the shop within an owner's limit (stops of
coupons that could cost more than the coupon budget), which it cannot drop; every proposal still goes
through the owner's guard. If the model fails (the server is down, it answers nonsense), the day is
planned by the built-in planner alone and the plan says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from agent import analysis
from agent.graph import Plan
from agent.llm import llm_plan
from agent.planner import plan as deterministic_plan
from marketplace.client import PlatformClient
from policies.actions import Action, StopCoupon
from policies.limits import Policy
from tools import ProposalSink, make_tools

log = logging.getLogger(__name__)
MAX_STEPS = 8


def llm_planner(model: Any, client: PlatformClient, *, locale: str = "en", max_steps: int = MAX_STEPS,
                on_tokens: Callable[[int], None] | None = None) -> Callable[[dict, Policy, dict], Plan]:
    """A planner for `RunDeps.planner` that lets `model` decide from the built-in candidates."""

    def plan(obs: dict[str, Any], policy: Policy, memory: dict[str, Any]) -> Plan:
        candidates = deterministic_plan(obs, policy, memory)
        sink = ProposalSink()
        context = {
            "shop": {k: obs["shop"].get(k) for k in ("id", "name", "day", "date")},
            "kpis": analysis.daily_kpis(obs)[-7:],
            "anomalies": analysis.anomalies(obs, policy),
            "candidates": [a.model_dump(mode="json", exclude_none=True) for a in candidates],
        }
        try:
            result = llm_plan(model, make_tools(client, sink, policy), context, locale, sink=sink,
                              max_steps=max_steps)
        except Exception as exc:  # the model is outside our control; the built-in planner is not
            log.warning("LLM planning failed, using the built-in planner: %s", exc)
            return Plan(candidates, "planner", {"llm_error": f"{type(exc).__name__}: {exc}"[:500]})
        if on_tokens:
            on_tokens(result.usage.total_tokens)
        kept = _limit_keepers(candidates, result.proposals)
        note = {"llm_text": result.text[:2000], "llm_steps": result.steps, "llm_stopped": result.stopped,
                "llm_tokens": result.usage.total_tokens, "candidates": len(candidates),
                "kept_for_limits": [a.target for a in kept]}
        return Plan([*result.proposals, *kept], "llm", note)

    return plan


def _limit_keepers(candidates: list[Action], proposals: list[Action]) -> list[Action]:
    """The candidates that keep the shop within an owner's limit (a coupon that could cost more in a day than the
    coupon budget, stopped) and that the model did not propose itself: the model may add and drop what earns, not
    what the limits need."""
    proposed = {(a.kind, a.target) for a in proposals}
    return [a for a in candidates
            if isinstance(a, StopCoupon) and a.holds_limit and (a.kind, a.target) not in proposed]
