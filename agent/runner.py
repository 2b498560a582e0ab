"""Running the daily graph for a shop: start or resume a run, answer approvals, and the agent as a
strategy in the benchmark harness (talking to the platform over HTTP like any client)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from agent.graph import RunDeps, RunState, build_graph
from agent.planner import plan as deterministic_plan
from marketplace.client import PlatformClient
from marketplace.strategies.base import register
from policies.domain import ActionKind, Segment
from policies.limits import Policy

Owner = Callable[[list[dict[str, Any]]], dict[str, dict[str, Any]]]  # pending → decisions


def scripted_owner(pending: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The demo owner: approves what the guard queued, except coupons that also go to loyal
    high-value buyers (they would have bought anyway)."""
    decisions = {}
    for p in pending:
        a = p["action"]
        broad = a["kind"] == ActionKind.CREATE_COUPON and Segment.HIGH_VALUE in a["segments"]
        decisions[p["id"]] = {"decision": "reject" if broad else "approve", "by": "owner:demo"}
    return decisions


def run_id_for(shop_id: str, date: str) -> str:
    return f"{shop_id}-{date}"


def start_or_continue(graph: Any, config: dict[str, Any], initial: RunState) -> None:
    """Start the run's thread with `initial`, or carry on one that stopped halfway (a crash, a platform
    outage) from its last checkpoint; a thread paused for the owner stays paused."""
    snapshot = graph.get_state(config)
    if not snapshot.next:
        graph.invoke(initial, config)
    elif not snapshot.interrupts:
        graph.invoke(None, config)


def run_day(deps: RunDeps, run_id: str, checkpointer, owner: Owner | None = None) -> RunState:
    """Run (or resume) one shop's day to its end; with an `owner`, answer approvals on the spot.

    Without one, a run that needs approval stops at `approve` and is resumed later with
    `resume_run`.
    """
    graph = build_graph(deps, checkpointer)
    config = {"configurable": {"thread_id": run_id}}
    start_or_continue(graph, config, {"run_id": run_id, "shop_id": deps.client.shop_id, "log": []})
    while owner is not None and graph.get_state(config).interrupts:
        (request,) = graph.get_state(config).interrupts
        graph.invoke(Command(resume={"decisions": owner(request.value["pending"])}), config)
    return graph.get_state(config).values


def resume_run(deps: RunDeps, run_id: str, checkpointer, decisions: dict[str, Any]) -> RunState:
    """Answer a paused run's approvals and let it finish."""
    graph = build_graph(deps, checkpointer)
    config = {"configurable": {"thread_id": run_id}}
    if not graph.get_state(config).interrupts:
        raise LookupError(f"run {run_id!r} is not waiting for approval")
    return graph.invoke(Command(resume={"decisions": decisions}), config)


@register("agent")
@dataclass
class AgentStrategy:
    """Xiaoer in the harness: the full daily graph per shop, the scripted owner answering approvals.

    From the world it takes only each shop's owner policy (the owner's own settings); it sees
    the market only through the platform API.
    """

    world: Any
    name: str = "agent"
    policies: dict[str, Policy] = field(init=False)
    memory: dict[str, dict] = field(default_factory=dict, init=False)
    checkpointer: Any = field(default_factory=InMemorySaver, init=False)
    planner: Callable[..., Any] = field(default_factory=lambda: deterministic_plan, init=False)  # built-in planner

    def __post_init__(self) -> None:
        self.policies = {s.id: s.policy for s in self.world.scenario.shops}
        self.world = None  # nothing else of the world is the agent's business

    def act(self, client: PlatformClient, day: int) -> None:
        deps = RunDeps(client=client, policy=self.policies[client.shop_id],
                       memory=self.memory.setdefault(client.shop_id, {}), planner=self.planner)
        run_day(deps, f"{client.shop_id}-day{day}", self.checkpointer, owner=scripted_owner)
