"""One shop's daily run as a LangGraph `StateGraph`:

    observe → analyse → plan → guard → execute → verify → report
                                          ↑                  │ proposals wait for the owner
                                          └──── approve ←────┘

The state is plain JSON (it lives in the checkpointer). The planner (or an LLM) proposes, the
guard decides, and only `execute` writes to the platform, with an idempotency key derived from
the run and the action, so a run resumed after a crash never applies a write twice. What the
guard allows executes at once; what needs the owner is listed in the first report, then
`approve` pauses the run with `interrupt` until the owner answers, and the approved actions
run through execute → verify → report again. Nothing in `approve` writes before the interrupt,
because a resumed node runs again from its first line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import add
from typing import Annotated, Any, TypedDict, cast

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from agent import analysis
from agent.execute import action_key, execute, fingerprint
from agent.guarding import fit_to_policy, guard_all, recheck_approved, shop_state
from agent.observe import observe
from agent.planner import plan as deterministic_plan
from agent.storage_proposals import proposal_id_for
from marketplace.client import PlatformClient, PlatformError
from policies.actions import Action, parse_action
from policies.limits import Policy
from policies.verdict import Decision

NODES = ("observe", "analyse", "plan", "guard", "approve", "execute", "verify", "report")


class RunState(TypedDict, total=False):
    run_id: str
    shop_id: str
    started_at: str
    observation: dict[str, Any]
    analysis: dict[str, Any]
    proposals: list[dict[str, Any]]
    plan_note: dict[str, Any]
    verdicts: list[dict[str, Any]]
    decisions: dict[str, dict[str, Any]]
    outcomes: list[dict[str, Any]]
    verified: list[dict[str, Any]]
    report: dict[str, Any]
    log: Annotated[list[str], add]


@dataclass
class Plan:
    """What a planner may return instead of a bare list: the actions, who proposed them, and a note."""

    actions: list[Action]
    proposed_by: str = "planner"  # "planner", or "llm" when a model made the proposals
    note: dict[str, Any] = field(default_factory=dict)  # e.g. the model's closing text, tokens used
    # True: the guard answers the actions exactly as asked (a conversation's proposals: a deny and its nearest
    # alternative go back to whoever asked); False: the planner's courtesy fits them to the policy first.
    as_asked: bool = False


@dataclass
class RunDeps:
    """What the nodes need besides the state: the platform, the owner's policy, and helpers."""

    client: PlatformClient
    policy: Policy
    memory: dict[str, Any] = field(default_factory=dict)  # the planner's estimates across days
    planner: Callable[[dict, Policy, dict], list | Plan] = deterministic_plan
    reporter: Callable[[RunState], dict[str, Any]] | None = None
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    record: Callable[[str, RunState], None] | None = None  # storage: called after each node with the new state
    on_node: Callable[[str, RunState], None] | None = None  # hook for tests and progress


def build_graph(deps: RunDeps, checkpointer=None):
    """The compiled daily-run graph for one shop."""

    def step(name: str, fn: Callable[[RunState], dict[str, Any]]) -> Callable[[RunState], dict[str, Any]]:
        def node(state: RunState) -> dict[str, Any]:
            update = fn(state)
            merged = cast(RunState, {**state, **update})
            if deps.record:
                deps.record(name, merged)
            if deps.on_node:
                deps.on_node(name, merged)
            return {**update, "log": [name]}
        node.__name__ = name
        return node

    def observe_node(state: RunState) -> dict:
        return {"observation": observe(deps.client), "started_at": state.get("started_at") or deps.now().isoformat()}

    def analyse_node(state: RunState) -> dict:
        obs = state["observation"]
        return {"analysis": {"kpis": analysis.daily_kpis(obs), "roi_by_sku": analysis.sku_ad_roi(obs),
                             "anomalies": analysis.anomalies(obs, deps.policy)}}

    def plan_node(state: RunState) -> dict:
        planned = deps.planner(state["observation"], deps.policy, deps.memory)
        if not isinstance(planned, Plan):
            planned = Plan(list(planned))
        actions = (planned.actions if planned.as_asked
                   else fit_to_policy(planned.actions, deps.policy, shop_state(state["observation"])))
        proposals = []
        for k, a in enumerate(actions):
            fp = f"{k}:{fingerprint(a)}"
            proposals.append({"id": proposal_id_for(state["run_id"], fp), "fingerprint": fp,
                              "action": a.model_dump(mode="json"), "proposed_by": planned.proposed_by})
        return {"proposals": proposals, "plan_note": _plain(planned.note)}

    def guard_node(state: RunState) -> dict:
        verdicts, _ = guard_all(state["proposals"], deps.policy, shop_state(state["observation"]))
        return {"verdicts": _plain(verdicts)}

    def approve_node(state: RunState) -> dict:
        expires = datetime.fromisoformat(state["started_at"]) + timedelta(
            hours=deps.policy.autonomy.approval_expiry_hours)
        pending = [{"id": p["id"], "action": p["action"], "verdict": v, "expires_at": expires.isoformat()}
                   for p, v in zip(state["proposals"], state["verdicts"], strict=True)
                   if v["decision"] == Decision.NEEDS_APPROVAL and p["id"] not in state.get("decisions", {})]
        answer = interrupt({"run_id": state["run_id"], "shop_id": state["shop_id"], "pending": pending})
        return {"decisions": {**state.get("decisions", {}), **_normalise(answer, {p["id"] for p in pending})}}

    def execute_node(state: RunState) -> dict:
        return {"outcomes": _execute(deps, state)}

    def verify_node(state: RunState) -> dict:
        return {"verified": _verify(deps.client, state["outcomes"])}

    def report_node(state: RunState) -> dict:
        return {"report": deps.reporter(state) if deps.reporter else {}}

    graph = StateGraph(RunState)
    fns = (observe_node, analyse_node, plan_node, guard_node, approve_node, execute_node, verify_node, report_node)
    for name, fn in zip(NODES, fns, strict=True):
        graph.add_node(name, step(name, fn))  # type: ignore[call-overload]  # langgraph's overloads miss plain callables
    for a, b in (("observe", "analyse"), ("analyse", "plan"), ("plan", "guard"), ("guard", "execute"),
                 ("approve", "execute"), ("execute", "verify"), ("verify", "report")):
        graph.add_edge(a, b)
    graph.add_edge(START, "observe")
    graph.add_conditional_edges("report", lambda s: "approve" if awaiting_owner(s) else END, ["approve", END])
    return graph.compile(checkpointer=checkpointer)


def awaiting_owner(state: RunState) -> bool:
    """Proposals the guard queued for the owner that the owner has not answered yet."""
    decided = state.get("decisions", {})
    return any(v["decision"] == Decision.NEEDS_APPROVAL and p["id"] not in decided
               for p, v in zip(state.get("proposals", []), state.get("verdicts", []), strict=True))


def _plain(value: Any) -> Any:
    """JSON types only, so checkpoints never hold our enums (LangGraph would refuse them in strict mode)."""
    return json.loads(json.dumps(value, default=str))


def _normalise(answer: Any, pending: set[str]) -> dict[str, dict[str, Any]]:
    """The owner's answer as {proposal id: {decision, action?, by, at}}; unknown ids are ignored.

    Accepts {"decisions": {...}} or the mapping itself; a bare "approve"/"reject" string
    answers every pending proposal the same way. "expire" is the clock's answer: the owner did
    not answer in time.
    """
    if isinstance(answer, str):
        return {pid: {"decision": answer} for pid in pending}
    decisions = answer.get("decisions", answer) if isinstance(answer, dict) else {}
    out = {}
    for pid, d in decisions.items():
        if pid in pending:
            d = {"decision": d} if isinstance(d, str) else dict(d)
            if d.get("decision") not in ("approve", "reject", "edit", "expire"):
                raise ValueError(
                    f"decisions.{pid}.decision: must be approve, reject or edit, got {d.get('decision')!r}")
            out[pid] = d
    return out


def _execute(deps: RunDeps, state: RunState) -> list[dict[str, Any]]:
    """Allowed actions, then owner-approved ones re-checked on top of them; each written once."""
    policy, obs = deps.policy, state["observation"]
    shop = shop_state(obs)
    _, ledger = guard_all([p for p, v in zip(state["proposals"], state["verdicts"], strict=True)
                           if v["decision"] == Decision.ALLOW], policy, shop)
    started = datetime.fromisoformat(state["started_at"])
    expires = started + timedelta(hours=policy.autonomy.approval_expiry_hours)
    outcomes: list[dict[str, Any]] = []
    to_run = []
    for p, v in zip(state["proposals"], state["verdicts"], strict=True):
        base = {"proposal_id": p["id"], "action": p["action"], "verdict": v}
        if v["decision"] == Decision.ALLOW:
            to_run.append((base, parse_action(p["action"])))
            continue
        if v["decision"] == Decision.DENY:
            outcomes.append({**base, "status": "denied"})
            continue
        d = state.get("decisions", {}).get(p["id"])
        if d is None:
            outcomes.append({**base, "status": "pending"})
            continue
        at = datetime.fromisoformat(d["at"]) if d.get("at") else started
        if d["decision"] == "reject":
            outcomes.append({**base, "status": "rejected", "by": d.get("by", "owner"), "at": at.isoformat()})
            continue
        if at > expires or d["decision"] == "expire":
            outcomes.append({**base, "status": "expired"})
            continue
        action = parse_action(d["action"] if d["decision"] == "edit" else p["action"])
        verdict, ledger = recheck_approved(action, policy, shop, ledger, started, at, d.get("by", "owner"))
        verdict = _plain(verdict)
        entry = {**base, "action": action.model_dump(mode="json"), "verdict": verdict,
                 "edited": d["decision"] == "edit", "by": d.get("by", "owner"), "at": at.isoformat()}
        if verdict["decision"] == Decision.ALLOW:
            to_run.append((entry, action))
        else:
            outcomes.append({**entry, "status": "denied"})
    done = {o["proposal_id"]: o for o in state.get("outcomes", []) if o["status"] in ("executed", "failed")}
    for entry, action in to_run:
        if entry["proposal_id"] in done:  # executed on the first pass, before the owner answered
            outcomes.append(done[entry["proposal_id"]])
            continue
        key = action_key(state["run_id"], action)
        try:
            result = execute(deps.client, action, key)
            outcomes.append({**entry, "status": "executed", "key": key, "result": result})
        except PlatformError as exc:
            outcomes.append({**entry, "status": "failed", "key": key, "error": str(exc), "attempts": exc.attempts})
    return outcomes


def _verify(client: PlatformClient, outcomes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Read the platform back: does each executed action show?"""
    executed = [o for o in outcomes if o["status"] == "executed"]
    if not executed:
        return []
    campaigns = {c["id"]: c for c in client.campaigns()}
    coupons = {c["id"]: c for c in client.coupons()}
    checks = []
    for o in executed:
        a = o["action"]
        kind = a["kind"]
        if kind == "set_bid":
            ok = abs(campaigns[a["campaign_id"]]["bid"] - a["bid"]) < 0.006
        elif kind == "set_budget":
            ok = abs(campaigns[a["campaign_id"]]["budget"] - a["budget"]) < 0.006
        elif kind == "set_campaign_status":
            ok = campaigns[a["campaign_id"]]["status"] == a["status"]
        elif kind == "set_campaign_mode":
            ok = campaigns[a["campaign_id"]]["mode"] == a["mode"]
        elif kind == "create_coupon":
            ok = o["result"].get("id") in coupons
        else:
            ok = coupons.get(a["coupon_id"], {}).get("status") != "live"
        checks.append({"proposal_id": o["proposal_id"], "ok": ok})
    return checks
