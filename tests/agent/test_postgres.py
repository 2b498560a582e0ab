"""PostgreSQL as a real backend: storage races and time zones on a live server, and `open_checkpointer` on
both backends — a paused run survives closing the checkpointer, and the daily graph resumes from PostgreSQL.

(The rest of storage runs on both backends in test_storage.py.)
"""

import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict

import psycopg
import pytest
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from psycopg_pool import ConnectionPool
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from agent.checkpoints import checkpoints_target, open_checkpointer
from agent.graph import RunDeps, awaiting_owner
from agent.runner import resume_run, run_day
from agent.storage import (
    AuditEvent,
    InvalidTransition,
    Run,
    RunExists,
    get_proposal,
    get_run,
    session_scope,
    start_run,
    transition,
    upsert_proposal,
)
from marketplace.client import AdminClient, PlatformClient, RetryPolicy, in_process
from marketplace.scenario import load_scenario
from marketplace.world import World
from policies.domain import ActionKind
from policies.limits import AutonomyRule, Policy
from tests.factories import alpha_shop_db

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SCENARIO = Path(__file__).parents[2] / "scenarios/fat_margin_underspend.yaml"


@pytest.fixture
def engine(pg_database: str) -> Iterator[Engine]:
    with alpha_shop_db(pg_database) as engine:
        yield engine


# --- storage: what only a real server shows ---------------------------------------------------------------------

def test_timestamps_come_back_in_utc_from_a_server_in_another_zone(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(text("SHOW timezone")).scalar() == "Asia/Shanghai"  # set in tests/pg.py
    with session_scope(engine) as session:
        run_id = start_run(session, "alpha", "2026-03-02", 1, now=NOW).id

    with session_scope(engine) as session:
        started = get_run(session, run_id).started_at
        assert (started, started.utcoffset()) == (NOW, timedelta(0))
        stored = session.connection().execute(text("SELECT started_at::text FROM runs")).scalar_one()
        assert stored == "2026-03-02 16:00:00+08"  # the same instant, as the server sees it


def waiting_for_a_lock(engine: Engine) -> None:
    """Return once some other session of this database waits for a lock (so a race is really on)."""
    query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND wait_event_type = 'Lock'")
    deadline = time.monotonic() + 20
    with engine.connect() as conn:
        while conn.execute(query).scalar() == 0:
            assert time.monotonic() < deadline, "the second writer never had to wait for the first"
            conn.rollback()  # the server keeps one snapshot of pg_stat_activity per transaction
            time.sleep(0.01)


def race(engine: Engine, first: Callable[[Session], Any], second: Callable[[Session], Any]) -> BaseException | None:
    """`first` writes and holds its transaction open; `second`, in another thread, has to wait for it.

    Then `first` commits. Returns what `second` raised (None if it went through).
    """
    def in_own_transaction() -> None:
        with session_scope(engine) as session:
            second(session)

    with ThreadPoolExecutor(1) as pool:
        with session_scope(engine) as session:
            first(session)
            later = pool.submit(in_own_transaction)
            waiting_for_a_lock(engine)
        return later.exception(timeout=30)


def test_two_processes_starting_the_same_days_run_at_once_get_one_run(engine: Engine) -> None:
    # The second one's check finds nothing yet; the partial unique index stops its insert.
    error = race(engine, lambda s: start_run(s, "alpha", "2026-03-02", 1, run_id="r1", now=NOW),
                 lambda s: start_run(s, "alpha", "2026-03-02", 1, run_id="r2", now=NOW))

    assert isinstance(error, RunExists) and "another live run" in str(error)
    with session_scope(engine) as session:
        assert session.exec(select(Run.id)).all() == ["r1"]
        assert session.exec(select(AuditEvent.run_id).where(AuditEvent.event == "run_started")).all() == ["r1"]


def test_two_owners_answering_one_approval_at_once_only_one_wins(engine: Engine) -> None:
    with session_scope(engine) as session:
        run_id = start_run(session, "alpha", "2026-03-02", 1, now=NOW).id
        pid = upsert_proposal(session, run_id=run_id, fingerprint="set_bid:a1:1.2", kind="set_bid", target="a1",
                              action={"kind": "set_bid", "sku": "a1", "bid": 1.2}, now=NOW).id
        transition(session, pid, "pending", "guard", now=NOW, expires_at=NOW + timedelta(hours=24),
                   decision={"decision": "needs_approval"})

    error = race(engine, lambda s: transition(s, pid, "approved", "owner:phone", now=NOW),
                 lambda s: transition(s, pid, "rejected", "owner:web", now=NOW))

    assert isinstance(error, InvalidTransition) and "changed concurrently" in str(error)
    assert (error.from_state, error.to_state) == ("approved", "rejected")
    with session_scope(engine) as session:
        assert (get_proposal(session, pid).state, get_proposal(session, pid).approved_by) == ("approved", "owner:phone")
        events = session.exec(select(AuditEvent.event).where(AuditEvent.proposal_id == pid)).all()
        assert sorted(events) == ["approved", "guard_decision", "proposed"]


# --- open_checkpointer --------------------------------------------------------------------------------------------

class Ask(TypedDict, total=False):
    question: str
    answer: str


def ask_owner(state: Ask) -> Ask:
    return {"answer": interrupt({"question": state["question"]})}


def asking_graph(checkpointer: Any) -> Any:
    """START → ask_owner (pauses for the answer) → END."""
    graph = StateGraph(Ask)
    graph.add_node("ask_owner", ask_owner)
    graph.add_edge(START, "ask_owner")
    graph.add_edge("ask_owner", END)
    return graph.compile(checkpointer=checkpointer)


@pytest.fixture(params=["sqlite", "postgres"])
def checkpoints(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a checkpointer keeps its threads, on each backend: a SQLite file (in a dir not made yet) or a database."""
    if request.param == "sqlite":
        return tmp_path / "not" / "yet" / "checkpoints.sqlite"
    return request.getfixturevalue("pg_database")


def test_a_paused_thread_survives_closing_the_checkpointer_and_resumes_in_a_new_one(checkpoints: str | Path) -> None:
    config = {"configurable": {"thread_id": "shop-alpha-2026-03-02"}}
    with open_checkpointer(checkpoints) as first:
        paused = asking_graph(first).invoke({"question": "把出价提到 1.2 元吗？"}, config)
        assert paused["__interrupt__"][0].value == {"question": "把出价提到 1.2 元吗？"}

    with open_checkpointer(checkpoints) as second:
        assert second is not first
        graph = asking_graph(second)
        assert graph.get_state(config).next == ("ask_owner",)
        done = graph.invoke(Command(resume="好的"), config)

    assert done == {"question": "把出价提到 1.2 元吗？", "answer": "好的"}


def test_postgres_checkpoints_live_in_the_database_behind_a_pool(pg_database: str) -> None:
    config = {"configurable": {"thread_id": "t-1"}}
    with open_checkpointer(pg_database.replace("postgresql://", "postgresql+psycopg://")) as saver:
        assert isinstance(saver, PostgresSaver) and isinstance(saver.conn, ConnectionPool)
        asking_graph(saver).invoke({"question": "q"}, config)

    with psycopg.connect(pg_database) as conn:
        rows = conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = 't-1'").fetchone()[0]
    assert rows >= 2  # the input and the step that paused


def test_postgres_checkpointer_outlives_a_dropped_connection(pg_database: str) -> None:
    config = {"configurable": {"thread_id": "t-1"}}
    with open_checkpointer(pg_database) as saver:
        asking_graph(saver).invoke({"question": "q"}, config)
        with psycopg.connect(pg_database, autocommit=True) as admin:  # what a server restart does to idle clients
            killed = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                   "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
        assert killed >= 1

        assert asking_graph(saver).invoke(Command(resume="a"), config) == {"question": "q", "answer": "a"}


def test_one_checkpointer_serves_many_threads_at_once(checkpoints: str | Path) -> None:
    with open_checkpointer(checkpoints) as saver, ThreadPoolExecutor(8) as pool:
        graph = asking_graph(saver)

        def ask_and_answer(n: int) -> Ask:
            config = {"configurable": {"thread_id": f"t-{n}"}}
            graph.invoke({"question": f"q{n}"}, config)
            return graph.invoke(Command(resume=f"a{n}"), config)

        answers = list(pool.map(ask_and_answer, range(24)))

    assert answers == [{"question": f"q{n}", "answer": f"a{n}"} for n in range(24)]


def test_open_checkpointer_refuses_a_url_it_cannot_serve() -> None:
    with pytest.raises(ValueError, match="mysql:// is not supported"), open_checkpointer("mysql://u@db/x"):
        pass


@pytest.mark.parametrize(("env", "expected"), [
    ({"DATABASE_URL": "postgresql://u@db/x", "XIAOER_CHECKPOINTS": "/cp.sqlite"}, Path("/cp.sqlite")),
    ({"DATABASE_URL": "postgresql://u@db/x"}, "postgresql://u@db/x"),
    ({"DATABASE_URL": "sqlite:///app.db", "XIAOER_CHECKPOINTS": "postgresql://u@db/cp"}, "postgresql://u@db/cp"),
    ({"DATABASE_URL": "postgres://u@db/x"}, "postgres://u@db/x"),
    ({"DATABASE_URL": "postgresql+psycopg://u@db/x"}, "postgresql+psycopg://u@db/x"),
    ({"DATABASE_URL": "sqlite:///app.db", "XIAOER_CHECKPOINTS": "/data/cp.sqlite"}, Path("/data/cp.sqlite")),
    ({"XIAOER_HOME": "/srv/xiaoer"}, Path("/srv/xiaoer/checkpoints.sqlite")),
    ({"XIAOER_HOME": "", "XIAOER_CHECKPOINTS": " "}, Path(".xiaoer/checkpoints.sqlite")),
    ({}, Path(".xiaoer/checkpoints.sqlite")),
], ids=["checkpoints-win", "postgres", "checkpoints-postgres", "postgres-short", "sqlalchemy-form",
        "sqlite-app-db", "home", "blank-is-unset", "default"])
def test_checkpoints_go_where_the_environment_says(monkeypatch, env: dict[str, str], expected: str | Path) -> None:
    for name in ("DATABASE_URL", "XIAOER_CHECKPOINTS", "XIAOER_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    assert checkpoints_target() == expected
    assert checkpoints_target("/given.sqlite") == "/given.sqlite"


def test_open_checkpointer_without_a_target_uses_sqlite_under_xiaoer_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("XIAOER_CHECKPOINTS", raising=False)
    monkeypatch.setenv("XIAOER_HOME", str(tmp_path / "home"))

    with open_checkpointer() as saver:
        assert isinstance(saver, SqliteSaver)
        asking_graph(saver).invoke({"question": "q"}, {"configurable": {"thread_id": "t"}})

    assert (tmp_path / "home" / "checkpoints.sqlite").stat().st_size > 0


def test_open_checkpointer_without_a_target_follows_a_postgres_database_url(pg_database: str, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_database.replace("postgresql://", "postgres://"))
    config = {"configurable": {"thread_id": "t-env"}}
    with open_checkpointer() as saver:
        asking_graph(saver).invoke({"question": "q"}, config)

    with open_checkpointer(pg_database) as saver:
        assert asking_graph(saver).get_state(config).next == ("ask_owner",)


# --- the daily run on PostgreSQL ----------------------------------------------------------------------------------

@contextmanager
def shop(days: int = 3) -> Iterator[tuple[PlatformClient, AdminClient, Policy]]:
    """The scenario's first shop on the in-process platform, a few days in, with an owner who lets bids
    and budgets move on their own (so a run both executes at once and waits for approval)."""
    scenario = load_scenario(SCENARIO)
    world, spec = World(scenario), scenario.shops[0]
    rules = {**spec.policy.autonomy.rules, ActionKind.SET_BID: AutonomyRule(mode="auto", max_change_pct=100.0),
             ActionKind.SET_BUDGET: AutonomyRule(mode="auto", max_change_pct=1000.0)}
    policy = spec.policy.model_copy(update={"autonomy": spec.policy.autonomy.model_copy(update={"rules": rules})})
    with in_process(world, admin_token="adm") as http:
        admin = AdminClient(http, "adm")
        admin.advance(days)
        client = PlatformClient(http, spec.id, world.token_for(spec.id), retry=RetryPolicy(sleep=lambda s: None))
        yield client, admin, policy


def test_a_daily_run_waiting_for_approval_resumes_from_postgres_and_writes_nothing_twice(pg_database: str) -> None:
    with shop() as (client, admin, policy):
        with open_checkpointer(pg_database) as saver:
            paused = run_day(RunDeps(client=client, policy=policy), "alpha-run", saver)
        before = Counter(o["status"] for o in paused["outcomes"])
        assert awaiting_owner(paused) and before["executed"] > 0 and before["pending"] > 0
        assert len(admin.changes()) == before["executed"]

        with open_checkpointer(pg_database) as saver:  # a new process: a new pool on the same database
            pending = [o["proposal_id"] for o in paused["outcomes"] if o["status"] == "pending"]
            done = resume_run(RunDeps(client=client, policy=policy), "alpha-run", saver,
                              {pid: {"decision": "approve", "by": "owner:test"} for pid in pending})

        after = Counter(o["status"] for o in done["outcomes"])
        assert after["pending"] == 0 and after["executed"] > before["executed"]
        keys = [c["idempotency_key"] for c in admin.changes()]
        assert len(keys) == len(set(keys)) == after["executed"]
        assert not awaiting_owner(done) and all(v["ok"] for v in done["verified"])
