"""The daily graph: allowed actions run at once, approvals pause the run, nothing outside the
policy executes, and a run killed at any node resumes without writing anything twice."""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from agent.graph import NODES, RunDeps, awaiting_owner
from agent.runner import resume_run, run_day
from marketplace.client import AdminClient, PlatformClient, RetryPolicy, in_process
from marketplace.scenario import load_scenario
from marketplace.world import World
from policies.domain import ActionKind
from policies.limits import AutonomyRule, Policy

SCENARIO = Path(__file__).parents[2] / "scenarios/fat_margin_underspend.yaml"
WARM_DAYS = 3


class Crash(Exception):
    """Stands in for the process dying."""


@contextmanager
def shop(days: int = WARM_DAYS) -> Iterator[tuple[World, PlatformClient, AdminClient, Policy]]:
    scenario = load_scenario(SCENARIO)
    world = World(scenario)
    spec = scenario.shops[0]
    with in_process(world, admin_token="adm") as http:
        admin = AdminClient(http, "adm")
        admin.advance(days)
        client = PlatformClient(http, spec.id, world.token_for(spec.id), retry=RetryPolicy(sleep=lambda s: None))
        yield world, client, admin, trusting(spec.policy)


def trusting(policy: Policy) -> Policy:
    """The owner lets bids and budgets move on their own; coupons and modes still need a yes."""
    rules = dict(policy.autonomy.rules)
    rules[ActionKind.SET_BID] = AutonomyRule(mode="auto", max_change_pct=100.0)
    rules[ActionKind.SET_BUDGET] = AutonomyRule(mode="auto", max_change_pct=1000.0)
    return policy.model_copy(update={"autonomy": policy.autonomy.model_copy(update={"rules": rules})})


def applied(admin: AdminClient) -> Counter:
    return Counter((c["kind"], c["target"], str(c["after"])) for c in admin.changes())


def test_allowed_actions_run_at_once_and_queued_ones_wait_for_the_owner(tmp_path: Path) -> None:
    with shop() as (world, client, admin, policy), SqliteSaver.from_conn_string(str(tmp_path / "cp.db")) as cp:
        state = run_day(RunDeps(client=client, policy=policy), "run-1", cp)
        statuses = Counter(o["status"] for o in state["outcomes"])
        assert statuses["executed"] > 0 and statuses["pending"] > 0
        assert awaiting_owner(state)
        keys_before = [c["idempotency_key"] for c in admin.changes()]
        assert len(keys_before) == statuses["executed"]

        pending = [o["proposal_id"] for o in state["outcomes"] if o["status"] == "pending"]
        done = resume_run(RunDeps(client=client, policy=policy), "run-1", cp,
                          {pid: {"decision": "approve", "by": "owner:test"} for pid in pending})
        after = Counter(o["status"] for o in done["outcomes"])
        assert after["pending"] == 0 and after["executed"] > statuses["executed"]
        keys = [c["idempotency_key"] for c in admin.changes()]
        assert len(keys) == len(set(keys)) == after["executed"]
        assert all(v["ok"] for v in done["verified"])
        assert not awaiting_owner(done)


def test_rejected_and_expired_approvals_never_execute(tmp_path: Path) -> None:
    with shop() as (world, client, admin, policy), SqliteSaver.from_conn_string(str(tmp_path / "cp.db")) as cp:
        state = run_day(RunDeps(client=client, policy=policy), "run-2", cp)
        pending = [o["proposal_id"] for o in state["outcomes"] if o["status"] == "pending"]
        assert len(pending) >= 2
        before = len(admin.changes())
        late = "2099-01-01T00:00:00+00:00"
        decisions = {pending[0]: "reject", **{pid: {"decision": "approve", "at": late} for pid in pending[1:]}}
        done = resume_run(RunDeps(client=client, policy=policy), "run-2", cp, decisions)
        by_id = {o["proposal_id"]: o["status"] for o in done["outcomes"]}
        assert by_id[pending[0]] == "rejected"
        assert all(by_id[pid] == "expired" for pid in pending[1:])
        assert len(admin.changes()) == before


def test_an_owner_edit_is_guarded_again(tmp_path: Path) -> None:
    with shop() as (world, client, admin, policy), SqliteSaver.from_conn_string(str(tmp_path / "cp.db")) as cp:
        state = run_day(RunDeps(client=client, policy=policy), "run-3", cp)
        pending = [o for o in state["outcomes"] if o["status"] == "pending"]
        edited = {"kind": "set_bid", "sku": "F-OOLONG", "bid": policy.spend.max_bid * 3, "rationale": "owner"}
        done = resume_run(RunDeps(client=client, policy=policy), "run-3", cp,
                          {pending[0]["proposal_id"]: {"decision": "edit", "action": edited}})
        outcome = next(o for o in done["outcomes"] if o["proposal_id"] == pending[0]["proposal_id"])
        assert outcome["status"] == "denied" and outcome["edited"]
        assert outcome["verdict"]["limit"] == "spend.max_bid"
        assert all(c["after"] != edited["bid"] for c in admin.changes())


def test_the_kill_switch_stops_every_write(tmp_path: Path) -> None:
    with shop() as (world, client, admin, policy), SqliteSaver.from_conn_string(str(tmp_path / "cp.db")) as cp:
        stopped = policy.model_copy(update={"autonomy": policy.autonomy.model_copy(update={"kill_switch": True})})
        state = run_day(RunDeps(client=client, policy=stopped), "run-4", cp, owner=lambda pending: {})
        assert state["outcomes"] and {o["status"] for o in state["outcomes"]} == {"denied"}
        assert admin.changes() == []


def _reference_changes() -> Counter:
    with shop() as (world, client, admin, policy):
        from langgraph.checkpoint.memory import InMemorySaver

        run_day(RunDeps(client=client, policy=policy), "ref", InMemorySaver(), owner=_approve_all)
        return applied(admin)


def _approve_all(pending: list[dict]) -> dict:
    return {p["id"]: {"decision": "approve", "by": "owner:test"} for p in pending}


class CrashingClient(PlatformClient):
    """Dies right after its n-th platform write (the write applied, the process gone)."""

    def __init__(self, *args, die_after: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.writes_left = die_after

    def _write(self, *args, **kwargs):
        result = super()._write(*args, **kwargs)
        self.writes_left -= 1
        if self.writes_left == 0:
            raise Crash("killed after a write")
        return result


@pytest.mark.parametrize("crash_at", [*NODES, "mid-execute"])
def test_a_run_killed_anywhere_resumes_and_writes_nothing_twice(tmp_path: Path, crash_at: str) -> None:
    expected = _reference_changes()
    path = str(tmp_path / "checkpoints.db")
    with shop() as (world, client, admin, policy):
        def die(node: str, state) -> None:
            if node == crash_at:
                raise Crash(f"killed in {node}")

        first = client if crash_at != "mid-execute" else CrashingClient(
            client._s.http, client.shop_id, client._s.token, die_after=2)
        with SqliteSaver.from_conn_string(path) as cp, pytest.raises(Crash):
            # the approve node only runs after the owner answers: crash there on the second pass
            run_day(RunDeps(client=first, policy=policy, on_node=die), "run-k", cp, owner=_approve_all)
        with SqliteSaver.from_conn_string(path) as cp:  # a new process: new graph, same checkpoint file
            state = run_day(RunDeps(client=client, policy=policy), "run-k", cp, owner=_approve_all)
        assert not awaiting_owner(state)
        changes = applied(admin)
        keys = [c["idempotency_key"] for c in admin.changes()]
        assert len(keys) == len(set(keys)), "a write was applied twice"
        assert changes == expected
