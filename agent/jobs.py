"""The agent's daily job as a service: start a shop's run, answer its approvals, expire what waited too long.

Used by `xiaoer run`, the API and the scheduler alike. Each run is a LangGraph thread in the
checkpointer and a row in storage; the graph records its proposals, the guard's verdicts, the
owner's answers and the platform's results in storage after every node (`agent.records`, which
records nothing twice when a node runs again), and the report is saved in both languages.

A run that stopped halfway (the process died, the platform was down) stays `running`; the next
`run_daily` for that shop and date resumes the same thread rather than planning afresh, so an
action already written is never written again under a new key.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from uuid import uuid4

from langgraph.types import Command
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import select

from agent import records, storage
from agent.graph import Plan, RunDeps, RunState, build_graph
from agent.i18n import LOCALES
from agent.locks import LocalLocks, ShopLocks
from agent.report import render_html, render_json, render_markdown, save_rendered
from agent.reporting import daily_reports
from agent.runner import start_or_continue
from agent.storage_models import ProposalState, Run, RunStatus, as_utc, utcnow
from agent.storage_proposals import ProposedBy
from marketplace.client import PlatformClient
from policies.actions import Action, parse_action
from policies.domain import ActionKind
from policies.limits import AutonomyRule, Policy, parse_policy

log = logging.getLogger(__name__)
DecisionKind = Literal["approve", "reject", "edit"]
_IDENTITY = ("kind", "campaign_id", "coupon_id", "sku")  # what an edit may not change
SWEEP = "*expiry-sweep*"  # the lock the approval-expiry sweep holds (no shop id has asterisks)


@dataclass(frozen=True)
class OwnerDecision:
    """The owner's answer to one pending proposal; for `edit`, the fields to change (e.g. {"bid": 1.2})."""

    decision: DecisionKind
    action: dict[str, Any] | None = None


@dataclass
class RunView:
    """What a caller needs to know about a run after starting or resuming it."""

    run_id: str
    shop_id: str
    date: str
    status: str  # running | waiting_approval | done | failed
    pending: list[str] = field(default_factory=list)  # proposal ids waiting for the owner
    counts: dict[str, int] = field(default_factory=dict)  # outcome status → how many


class DecisionError(ValueError):
    """A decision the owner cannot make: unknown proposal (of this shop), not pending, expired, bad edit.

    `field` names the offending part of the request (e.g. "decisions.<id>.action.bid"), `code` is
    one of not_found | not_pending | expired | invalid.
    """

    def __init__(self, message: str, *, field: str, code: str) -> None:
        super().__init__(message)
        self.field, self.code = field, code


@dataclass
class Jobs:
    """Runs for every shop in storage.

    engine: the app's database (SQLModel tables, see agent.storage).
    checkpointer: a LangGraph checkpointer (SqliteSaver / PostgresSaver) holding the run threads.
    platform: shop id → a PlatformClient for that shop (token and URL from the shop's settings).
    out_dir: when set, reports are also written there as files.
    now: the clock (tests move it).
    locks: one run step at a time per shop; `RedisLocks` when other processes drive the same shops.
    llm: a chat model that plans with the tools and writes the report narrative, or None.
    """

    engine: Engine
    checkpointer: Any
    platform: Callable[[str], PlatformClient]
    out_dir: Path | None = None
    now: Callable[[], datetime] | None = None
    llm: Any = None
    on_node: Callable[[str, RunState], None] | None = None  # progress and tests
    on_llm_tokens: Callable[[int], None] | None = None  # e.g. the service's metrics counter
    locks: ShopLocks = field(default_factory=LocalLocks)

    # --- the three entry points -----------------------------------------------------------------------------------
    def run_daily(self, shop_id: str, *, actor: str = "scheduler") -> RunView:
        """Start the shop's run for the platform's current day and take it as far as it goes without the owner.

        Raises storage.RunExists when the shop already has a run for that date that is waiting or
        done (one run per shop per day); LookupError when the shop or its policy is missing.
        """
        with self.locks(shop_id):
            policy = self._policy(shop_id)
            client = self.platform(shop_id)
            today = client.shop()
            with storage.session_scope(self.engine) as s:
                live = s.exec(select(Run).where(Run.shop_id == shop_id, Run.date == today["date"], Run.kind == "daily",
                                                Run.status != RunStatus.FAILED.value)).first()
                if live is not None and live.status != RunStatus.RUNNING.value:
                    raise storage.RunExists(f"shop {shop_id} already has run {live.id} for {today['date']} "
                                            f"(status {live.status}); one run per shop per day")
                if live is None:
                    tries = s.exec(select(Run).where(Run.shop_id == shop_id, Run.date == today["date"],
                                                     Run.kind == "daily")).all()
                    run_id = f"{shop_id}-{today['date']}" + (f"-r{len(tries)}" if tries else "")
                    live = storage.start_run(s, shop_id, today["date"], today["day"], run_id, actor=actor,
                                             now=self._now())
            return self._drive(live, policy, client, None)

    def decide(self, shop_id: str, decisions: dict[str, OwnerDecision], *, actor: str) -> list[RunView]:
        """Answer pending proposals of the shop (any of its runs) and resume the paused runs.

        Every decision is checked before any is applied (DecisionError names the first bad one);
        an edit is guarded again inside the run.
        """
        if not decisions:
            raise DecisionError("no decisions given", field="decisions", code="invalid")
        with self.locks(shop_id):
            return self._decide(shop_id, decisions, actor)

    def _decide(self, shop_id: str, decisions: dict[str, OwnerDecision], actor: str) -> list[RunView]:
        now = self._now()
        by_run: dict[str, dict[str, dict[str, Any]]] = {}
        with storage.session_scope(self.engine) as s:
            for pid, d in decisions.items():
                p = storage.get_proposal(s, pid)
                where = f"decisions.{pid}"
                if p is None or p.shop_id != shop_id:
                    raise DecisionError(f"proposal {pid} not found", field=where, code="not_found")
                if p.state != ProposalState.PENDING.value:
                    raise DecisionError(f"proposal {pid} is {p.state}, not waiting for an answer", field=where,
                                        code="not_pending")
                if p.expires_at is not None and now >= p.expires_at:
                    raise DecisionError(f"proposal {pid} expired at {p.expires_at.isoformat()}; it will not "
                                        "execute", field=where, code="expired")
                answer: dict[str, Any] = {"decision": d.decision, "by": actor, "at": now.isoformat()}
                if d.decision == "edit":
                    answer["action"] = _edited(p.action, d.action, where)
                elif d.decision not in ("approve", "reject"):
                    raise DecisionError(f"decision must be approve, reject or edit, got {d.decision!r}",
                                        field=f"{where}.decision", code="invalid")
                by_run.setdefault(p.run_id, {})[pid] = answer
        return [self._drive(self._run(run_id), self._policy(shop_id), self.platform(shop_id), {"decisions": answers})
                for run_id, answers in by_run.items()]

    def propose(self, shop_id: str, actions: list[Action], *, actor: str,
                proposed_by: ProposedBy = "llm") -> list[dict[str, Any]]:
        """Actions suggested outside the daily run (the chat's model, talking with the owner): each goes
        through the guard in a run of its own. Nothing from a conversation runs on its own, whatever the
        policy's autonomy says: what the guard would allow waits in the owner's queue, what it denies
        never runs. The guard answers each action as asked (never fitted to the policy first), so a deny
        comes back with its nearest alternative. `proposed_by`: "llm" (the chat's model) or "owner-chat"
        (the owner's own words). One dict per action, in order: id, run_id, decision (needs_approval |
        deny), limit, message, message_zh, alternative (a deny's nearest action the limits accept, or
        None), status, and the action as stored.
        """
        if not actions:
            return []
        with self.locks(shop_id):
            policy = _ask_first(self._policy(shop_id))
            client = self.platform(shop_id)
            today = client.shop()
            with storage.session_scope(self.engine) as s:
                run = storage.start_run(s, shop_id, today["date"], today["day"], f"{shop_id}-chat-{uuid4().hex[:12]}",
                                        actor=actor, now=self._now(), kind="chat")
            _, state = self._advance(run, policy, client, None,
                                     planner=lambda obs, pol, mem: Plan(list(actions), proposed_by, as_asked=True))
        status = {o["proposal_id"]: o["status"] for o in state.get("outcomes", [])}
        return [{"id": p["id"], "run_id": run.id, "decision": v["decision"], "limit": v.get("limit"),
                 "message": v.get("message"), "message_zh": v.get("message_zh"), "alternative": v.get("alternative"),
                 "status": status.get(p["id"]), "action": p["action"]}
                for p, v in zip(state["proposals"], state["verdicts"], strict=True)]

    def expire_due(self) -> list[str]:
        """Expire pending proposals past their expiry in every shop, and tell their runs. Returns the ids.

        One sweep at a time, across processes too when the locks are shared: two sweeps never expire
        (and resume) the same proposal twice.
        """
        with self.locks(SWEEP):
            return self._expire_due()

    def _expire_due(self) -> list[str]:
        now = self._now()
        with storage.session_scope(self.engine) as s:
            expired = [(p.id, p.run_id, p.shop_id) for p in storage.expire_due(s, now)]
        by_run: dict[tuple[str, str], dict[str, Any]] = {}
        for pid, run_id, shop_id in expired:
            by_run.setdefault((shop_id, run_id), {})[pid] = {"decision": "expire", "by": "system",
                                                              "at": now.isoformat()}
        for (shop_id, run_id), answers in by_run.items():
            with self.locks(shop_id):
                self._drive(self._run(run_id), self._policy(shop_id), self.platform(shop_id), {"decisions": answers})
        return [pid for pid, _, _ in expired]

    # --- running the graph ----------------------------------------------------------------------------------------
    def _drive(self, run: Run, policy: Policy, client: PlatformClient, answer: dict[str, Any] | None) -> RunView:
        """Invoke the run's graph (fresh, resumed after a stop, or with the owner's answer) and record where it got."""
        return self._advance(run, policy, client, answer)[0]

    def _advance(self, run: Run, policy: Policy, client: PlatformClient, answer: dict[str, Any] | None,
                 planner: Callable[[dict, Policy, dict], Plan] | None = None) -> tuple[RunView, RunState]:
        """`_drive`, also returning the run's state where it stopped."""
        with storage.session_scope(self.engine) as s:
            memory = storage.load_memory(s, run.shop_id)
            shop = storage.get_shop(s, run.shop_id)
        deps = RunDeps(client=client, policy=policy, memory=memory, now=self._now,
                       reporter=(lambda state: self._report(state, shop.name if shop else run.shop_id))
                       if run.kind == "daily" else None,  # a chat run's actions show in the next daily report
                       record=lambda _node, state: self._record(state, policy), on_node=self.on_node)
        if planner is not None:
            deps.planner = planner
        elif self.llm is not None:
            from agent.llm_planning import llm_planner

            deps.planner = llm_planner(self.llm, client, locale=shop.locale if shop else "zh-CN",
                                       on_tokens=self.on_llm_tokens)
        graph = build_graph(deps, self.checkpointer)
        config = {"configurable": {"thread_id": run.thread_id}}
        if answer is not None:
            if not graph.get_state(config).interrupts:
                raise DecisionError(f"run {run.id} is not waiting for the owner", field="decisions",
                                    code="not_pending")
            if run.status == RunStatus.WAITING_APPROVAL.value:
                with storage.session_scope(self.engine) as s:
                    storage.set_run_status(s, run.id, RunStatus.RUNNING, now=self._now())
            graph.invoke(Command(resume=answer), config)
        else:
            start_or_continue(graph, config, {"run_id": run.id, "shop_id": run.shop_id, "log": []})
        snapshot = graph.get_state(config)
        state = snapshot.values
        counts = dict(Counter(o["status"] for o in state.get("outcomes", [])))
        pending = [p["id"] for p in (snapshot.interrupts[0].value["pending"] if snapshot.interrupts else [])]
        status = RunStatus.WAITING_APPROVAL if snapshot.interrupts else RunStatus.DONE
        with storage.session_scope(self.engine) as s:
            storage.save_memory(s, run.shop_id, memory, now=self._now())
            current = storage.get_run(s, run.id)
            if current is not None and current.status != status.value:
                storage.set_run_status(s, run.id, status, now=self._now(),
                                       summary={"outcomes": counts, "pending": len(pending),
                                                "report": state.get("report", {})})
        return RunView(run.id, run.shop_id, run.date, status.value, pending, counts), state

    def _record(self, state: RunState, policy: Policy) -> None:
        with storage.session_scope(self.engine) as s:
            records.sync(s, state, expiry_hours=policy.autonomy.approval_expiry_hours, now=self._now())

    def _report(self, state: RunState, shop_name: str) -> dict[str, Any]:
        """Save the day's report in both languages (and write the files when asked); the LLM writes the narrative."""
        saved: dict[str, Any] = {}
        reports = daily_reports(state, shop_name)
        if not reports:
            return {}
        for locale, data in reports.items():
            view = data.model_copy(update={"narrative": self._narrative(data, locale)})
            texts = {"md": render_markdown(view), "html": render_html(view)}  # rendered once, stored and written
            with storage.session_scope(self.engine) as s:
                storage.save_report(s, shop_id=state["shop_id"], date=data.date.isoformat(), locale=locale,
                                    markdown=texts["md"], html=texts["html"], data=render_json(view),
                                    run_id=state["run_id"], now=self._now())
            if self.out_dir is not None:
                saved.update({k: str(v) for k, v in save_rendered(view, self.out_dir, locale, texts).items()})
            saved["date"] = data.date.isoformat()
        return {**saved, "locales": list(LOCALES)}

    def _narrative(self, data: Any, locale: str) -> str | None:
        if self.llm is None:
            return None
        from agent.llm import TokenUsage, llm_narrative

        usage = TokenUsage()
        try:
            text = llm_narrative(self.llm, render_json(data), locale, usage)
            if self.on_llm_tokens:
                self.on_llm_tokens(usage.total_tokens)
            return text or None
        except Exception as exc:  # the model is outside our control: the template narrative stands in
            log.warning("LLM narrative failed, using the template: %s", exc)
            return None

    # --- helpers --------------------------------------------------------------------------------------------------
    def _policy(self, shop_id: str) -> Policy:
        with storage.session_scope(self.engine) as s:
            if storage.get_shop(s, shop_id) is None:
                raise LookupError(f"shop {shop_id!r} not found")
            row = storage.current_policy(s, shop_id)
            if row is None:
                raise LookupError(f"shop {shop_id!r} has no policy yet; the owner sets one first")
            return parse_policy(row.body)

    def _run(self, run_id: str) -> Run:
        with storage.session_scope(self.engine) as s:
            run = storage.get_run(s, run_id)
            if run is None:
                raise LookupError(f"run {run_id!r} not found")
            return run

    def _now(self) -> datetime:
        return as_utc(self.now()) if self.now else utcnow()


def _ask_first(policy: Policy) -> Policy:
    """The policy with every action kind set to wait for the owner: never looser than the owner's own."""
    rules = {kind: AutonomyRule(mode="approval") for kind in ActionKind}
    return policy.model_copy(update={"autonomy": policy.autonomy.model_copy(update={"rules": rules})})


def _edited(original: dict[str, Any], changes: dict[str, Any] | None, where: str) -> dict[str, Any]:
    """The original action with the owner's changes applied and validated; what it acts on stays the same."""
    if not changes:
        raise DecisionError("an edit needs the fields to change, e.g. {\"bid\": 1.2}", field=f"{where}.action",
                            code="invalid")
    for key in _IDENTITY:
        if key in changes and changes[key] != original.get(key):
            raise DecisionError(f"an edit cannot change {key} ({original.get(key)!r} → {changes[key]!r}); reject "
                                "it and propose another action instead", field=f"{where}.action.{key}", code="invalid")
    merged = {**original, **changes}
    try:
        return parse_action(merged).model_dump(mode="json")
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"] if not isinstance(x, int) and x != merged.get("kind"))
        raise DecisionError(f"{loc or 'action'}: {err['msg']}", field=f"{where}.action.{loc}".rstrip("."),
                            code="invalid") from None
