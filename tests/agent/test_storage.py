"""Storage: the proposal state machine, runs, policy versions, the append-only audit log, reports and tokens."""

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from agent.storage import (
    TRANSITIONS,
    ApprovalExpired,
    AuditEvent,
    AuditLogIsAppendOnly,
    InvalidTransition,
    NotFound,
    Proposal,
    ProposalConflict,
    ProposalState,
    Report,
    Run,
    RunExists,
    ShopToken,
    audit_log,
    current_policy,
    database_url,
    decided_proposals,
    edit_proposal,
    expire_due,
    finish_run,
    get_proposal,
    get_report,
    hash_token,
    init_db,
    issue_token,
    make_engine,
    pending_proposals,
    policy_history,
    proposals_for_run,
    save_policy,
    save_report,
    save_shop,
    session_scope,
    set_run_status,
    shop_for_token,
    start_run,
    transition,
    upsert_proposal,
)
from agent.storage_engine import _wal
from policies.limits import PolicyError
from tests.factories import alpha_shop_db

S = ProposalState
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ALLOWED = sorted((a, b) for a, targets in TRANSITIONS.items() for b in targets)
FORBIDDEN = sorted((a, b) for a in S for b in S if b not in TRANSITIONS[a])
# The shortest way from `proposed` to each state, along allowed edges.
PATH = {
    S.PROPOSED: [], S.DENIED: [S.DENIED], S.PENDING: [S.PENDING], S.APPROVED: [S.APPROVED],
    S.REJECTED: [S.PENDING, S.REJECTED], S.EXPIRED: [S.PENDING, S.EXPIRED],
    S.EXECUTED: [S.APPROVED, S.EXECUTED], S.FAILED: [S.APPROVED, S.FAILED],
}
VERDICT = {
    S.DENIED: {"decision": "deny", "limit": "spend.max_bid", "message": "出价 6.0 高于上限 5.0",
               "numbers": {"bid": 6.0, "max_bid": 5.0}},
    S.PENDING: {"decision": "needs_approval", "limit": "autonomy.set_bid.max_change_pct",
                "message": "change 40% > 10%", "numbers": {"change_pct": 40.0, "threshold": 10.0}},
    S.APPROVED: {"decision": "allow", "limit": None, "message": "within limits", "numbers": {"change_pct": 5.0}},
}
EXPECTED_EVENT = {S.DENIED: "guard_decision", S.PENDING: "guard_decision", S.REJECTED: "rejected",
                  S.EXPIRED: "expired", S.EXECUTED: "executed", S.FAILED: "failed"}


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with alpha_shop_db(db_url) as engine:
        yield engine


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with session_scope(engine) as session:
        yield session


def new_proposal(session: Session, run_id: str, sku: str = "a1", bid: float = 1.2, **fields) -> Proposal:
    return upsert_proposal(session, run_id=run_id, fingerprint=f"set_bid:{sku}:{bid}", kind="set_bid", target=sku,
                           action={"kind": "set_bid", "sku": sku, "bid": bid}, now=NOW, **fields)


def move(session: Session, proposal: Proposal, to: S, now: datetime = NOW) -> Proposal:
    """One transition with the details a real caller would give for that edge."""
    details: dict = {}
    actor = {S.APPROVED: "owner:phone", S.REJECTED: "owner:phone", S.EXPIRED: "system"}.get(to, "executor")
    if proposal.state == S.PROPOSED:
        details["decision"], actor = VERDICT.get(to, {"decision": "?"}), "guard"
    if to == S.PENDING:
        details["expires_at"] = now + timedelta(hours=24)
    if to in (S.EXECUTED, S.FAILED):
        details["result"] = {"ok": to == S.EXECUTED, "status": 200 if to == S.EXECUTED else 503}
    return transition(session, proposal.id, to, actor, now=now, **details)


def bring_to(session: Session, run_id: str, state: S) -> Proposal:
    proposal = new_proposal(session, run_id)
    for step in PATH[state]:
        proposal = move(session, proposal, step)
    assert proposal.state == state
    return proposal


def run_for(session: Session, date: str = "2026-03-02", day: int = 1) -> str:
    return start_run(session, "alpha", date, day, now=NOW).id


def events_of(session: Session, proposal_id: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.proposal_id == proposal_id)
                             .order_by(AuditEvent.id)).all())


# --- the proposal state machine -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "target"), ALLOWED, ids=[f"{a}->{b}" for a, b in ALLOWED])
def test_every_allowed_transition_moves_and_writes_one_audit_event(session: Session, source: S, target: S) -> None:
    proposal = bring_to(session, run_for(session), source)
    before = len(events_of(session, proposal.id))

    moved = move(session, proposal, target)

    assert moved.state == target
    events = events_of(session, proposal.id)
    assert len(events) == before + 1
    last = events[-1]
    expected = "guard_decision" if source == S.PROPOSED else EXPECTED_EVENT.get(target, target.value)
    assert (last.event, last.detail["from"], last.detail["to"]) == (expected, source.value, target.value)


@pytest.mark.parametrize(("source", "target"), FORBIDDEN, ids=[f"{a}->{b}" for a, b in FORBIDDEN])
def test_every_other_transition_raises_invalid_transition(session: Session, source: S, target: S) -> None:
    proposal = bring_to(session, run_for(session), source)
    before = len(events_of(session, proposal.id))

    with pytest.raises(InvalidTransition, match=f"from {source.value} to {target.value}") as caught:
        transition(session, proposal.id, target, "owner:phone", now=NOW, decision={"decision": "allow"})

    assert (caught.value.from_state, caught.value.to_state) == (source.value, target.value)
    assert get_proposal(session, proposal.id).state == source
    assert len(events_of(session, proposal.id)) == before


def test_guard_moves_record_the_verdict_and_auto_approval(session: Session) -> None:
    run_id = run_for(session)
    denied = move(session, new_proposal(session, run_id, bid=6.0), S.DENIED)
    auto = move(session, new_proposal(session, run_id, bid=1.25), S.APPROVED)

    assert denied.decision == VERDICT[S.DENIED]
    assert events_of(session, denied.id)[-1].detail["decision"]["numbers"] == {"bid": 6.0, "max_bid": 5.0}
    assert (auto.approved_by, auto.decision["decision"]) == ("guard", "allow")


def test_guard_move_without_a_matching_verdict_is_refused(session: Session) -> None:
    proposal = new_proposal(session, run_for(session))

    with pytest.raises(ValueError, match="decision='deny'"):
        transition(session, proposal.id, S.DENIED, "guard", now=NOW, decision={"decision": "allow"})
    with pytest.raises(ValueError, match="needs the guard's verdict"):
        transition(session, proposal.id, S.PENDING, "guard", now=NOW)


def test_owner_approval_records_who_and_execution_records_the_result(session: Session) -> None:
    proposal = move(session, new_proposal(session, run_for(session)), S.PENDING)
    approved = transition(session, proposal.id, S.APPROVED, "owner:phone", now=NOW + timedelta(hours=1))
    executed = transition(session, proposal.id, S.EXECUTED, "executor", now=NOW + timedelta(hours=1),
                          result={"status": 200, "bid": 1.2})

    assert approved.approved_by == "owner:phone"
    assert executed.result == {"status": 200, "bid": 1.2}
    assert [e.event for e in events_of(session, proposal.id)] == ["proposed", "guard_decision", "approved", "executed"]


def test_approval_after_expiry_is_refused(session: Session) -> None:
    proposal = move(session, new_proposal(session, run_for(session)), S.PENDING)

    with pytest.raises(ApprovalExpired, match="expired at"):
        transition(session, proposal.id, S.APPROVED, "owner:phone", now=NOW + timedelta(hours=24))
    assert get_proposal(session, proposal.id).state == S.PENDING


def test_a_proposal_moved_by_another_session_cannot_be_moved_again(db_url: str) -> None:
    engine = make_engine(db_url)
    init_db(engine)
    with session_scope(engine) as session:
        save_shop(session, "alpha", "Alpha")
        pid = move(session, new_proposal(session, run_for(session)), S.APPROVED).id
    with Session(engine) as late:
        seen = late.get(Proposal, pid)  # loaded before the other writer moves it
        assert seen.state == S.APPROVED
        with session_scope(engine) as first:
            transition(first, pid, S.EXECUTED, "executor", now=NOW)
        with pytest.raises(InvalidTransition, match="changed concurrently"):
            transition(late, pid, S.EXECUTED, "executor", now=NOW)
    with session_scope(engine) as session:
        assert [e.event for e in events_of(session, pid)].count("executed") == 1
    engine.dispose()


def test_a_failed_block_leaves_neither_the_state_change_nor_its_audit_event(engine: Engine) -> None:
    with session_scope(engine) as session:
        pid = new_proposal(session, run_for(session)).id
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        move(session, get_proposal(session, pid), S.PENDING)
        raise RuntimeError("crash before commit")
    with session_scope(engine) as session:
        assert get_proposal(session, pid).state == S.PROPOSED
        assert [e.event for e in events_of(session, pid)] == ["proposed"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(attempts=st.lists(st.sampled_from(list(S)), max_size=8))
def test_random_transition_sequences_follow_only_allowed_edges(engine: Engine, attempts: list[S]) -> None:
    # One database for every example hypothesis tries: each example starts a run of its own.
    with session_scope(engine) as session:
        run_id = start_run(session, "alpha", f"d-{uuid4().hex}", 1, now=NOW).id
        proposal = new_proposal(session, run_id)
        moves = 0
        for target in attempts:
            source = S(proposal.state)
            if target in TRANSITIONS[source]:
                proposal = move(session, proposal, target)
                moves += 1
            else:
                with pytest.raises(InvalidTransition):
                    move(session, proposal, target)
            assert proposal.state == (target if target in TRANSITIONS[source] else source)

        events = events_of(session, proposal.id)
        assert events[0].event == "proposed" and len(events) == 1 + moves
        state = S.PROPOSED
        for e in events[1:]:
            assert e.detail["from"] == state and S(e.detail["to"]) in TRANSITIONS[state]
            state = S(e.detail["to"])
        assert state == proposal.state


# --- proposals: upsert, owner edit, expiry ---------------------------------------------------------------------------

def test_upsert_proposal_is_idempotent_by_run_and_fingerprint(session: Session) -> None:
    run_id = run_for(session)
    first = new_proposal(session, run_id, rationale="第一次")
    move(session, first, S.PENDING)

    again = new_proposal(session, run_id, rationale="resumed run, same action")

    assert again.id == first.id and again.state == S.PENDING and again.rationale == "第一次"
    assert len(proposals_for_run(session, run_id)) == 1
    assert [e.event for e in events_of(session, first.id)] == ["proposed", "guard_decision"]


def test_upsert_proposal_with_the_same_fingerprint_but_another_action_conflicts(session: Session) -> None:
    run_id = run_for(session)
    new_proposal(session, run_id)

    with pytest.raises(ProposalConflict, match="different action"):
        upsert_proposal(session, run_id=run_id, fingerprint="set_bid:a1:1.2", kind="set_bid", target="a1",
                        action={"kind": "set_bid", "sku": "a1", "bid": 9.9})


def test_upsert_proposal_for_an_unknown_run_raises_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match="nope"):
        new_proposal(session, "nope")


def test_owner_edit_rejects_the_old_proposal_and_queues_a_linked_new_one(session: Session) -> None:
    old = move(session, new_proposal(session, run_for(session), bid=2.0), S.PENDING)

    new = edit_proposal(session, old.id, action={"kind": "set_bid", "sku": "a1", "bid": 1.5}, actor="owner:phone",
                        now=NOW)

    assert get_proposal(session, old.id).state == S.REJECTED
    assert (new.state, new.proposed_by, new.replaces, new.action["bid"]) == (S.PROPOSED, "owner-edit", old.id, 1.5)
    assert events_of(session, old.id)[-1].detail["replaced_by"] == new.id
    assert events_of(session, new.id)[0].actor == "owner:phone"
    assert pending_proposals(session, "alpha") == []
    with pytest.raises(InvalidTransition, match="from rejected to rejected"):
        edit_proposal(session, old.id, action={"bid": 1.4}, actor="owner:phone")


def test_decided_proposals_are_those_that_came_to_an_end_latest_run_date_first(session: Session) -> None:
    older, newer = run_for(session, "2026-03-02", 1), run_for(session, "2026-03-03", 2)

    def ended_in(run_id: str, state: S, sku: str) -> Proposal:
        proposal = new_proposal(session, run_id, sku=sku)
        for step in PATH[state]:
            proposal = move(session, proposal, step)
        return proposal

    ended = [ended_in(newer, state, f"a{k}") for k, state in enumerate((S.EXECUTED, S.DENIED, S.REJECTED))]
    for k, state in enumerate((S.PENDING, S.APPROVED, S.PROPOSED)):  # not over yet
        ended_in(newer, state, f"b{k}")
    before = ended_in(older, S.FAILED, "a1")

    got = decided_proposals(session, "alpha")

    assert [date for date, _ in got] == ["2026-03-03"] * 3 + ["2026-03-02"]
    assert {p.id for _, p in got[:3]} == {p.id for p in ended} and got[3][1].id == before.id
    assert decided_proposals(session, "beta") == []


def test_expire_due_expires_only_pending_proposals_past_their_expiry(session: Session) -> None:
    run_id = run_for(session)
    due = move(session, new_proposal(session, run_id, sku="a1"), S.PENDING, now=NOW - timedelta(hours=30))
    not_due = move(session, new_proposal(session, run_id, sku="a2"), S.PENDING, now=NOW)
    no_expiry = transition(session, new_proposal(session, run_id, sku="a3").id, S.PENDING, "guard",
                           decision=VERDICT[S.PENDING], now=NOW)
    approved = move(session, new_proposal(session, run_id, sku="a4"), S.PENDING, now=NOW - timedelta(hours=30))
    transition(session, approved.id, S.APPROVED, "owner:phone", now=NOW - timedelta(hours=29))

    expired = expire_due(session, now=NOW)

    assert [p.id for p in expired] == [due.id]
    assert get_proposal(session, due.id).state == S.EXPIRED
    assert {p.id for p in pending_proposals(session, "alpha")} == {not_due.id, no_expiry.id}
    assert get_proposal(session, approved.id).state == S.APPROVED
    last = events_of(session, due.id)[-1]
    assert (last.event, last.actor) == ("expired", "system")
    assert expire_due(session, now=NOW) == []


# --- runs -----------------------------------------------------------------------------------------------------------

def test_a_second_run_for_the_same_shop_and_date_is_refused(session: Session) -> None:
    first = run_for(session)

    with pytest.raises(RunExists, match=f"already has run {first}"):
        run_for(session)
    set_run_status(session, first, "waiting_approval", now=NOW)
    with pytest.raises(RunExists):
        run_for(session)
    finish_run(session, first, summary={"executed": 2}, now=NOW)
    with pytest.raises(RunExists):
        run_for(session)


def test_a_failed_run_can_be_retried(session: Session) -> None:
    first = run_for(session)
    finish_run(session, first, "failed", summary={"error": "platform 503"}, now=NOW)

    retry = start_run(session, "alpha", "2026-03-02", 1, run_id="retry-1", now=NOW)

    assert (retry.id, retry.thread_id, retry.status) == ("retry-1", "retry-1", "running")
    events = [e.event for e in audit_log(session, "alpha")]
    assert events == ["run_started", "run_finished", "run_started"]


def test_the_database_itself_refuses_two_live_runs_for_a_shop_and_date(session: Session) -> None:
    session.add(Run(id="r1", shop_id="alpha", day=1, date="2026-03-02", thread_id="r1", status="failed"))
    session.add(Run(id="r2", shop_id="alpha", day=1, date="2026-03-02", thread_id="r2"))
    session.flush()  # a failed run and a live one may share the date
    session.add(Run(id="r3", shop_id="alpha", day=1, date="2026-03-02", thread_id="r3"))

    with pytest.raises(IntegrityError, match="(?i)unique"):  # SQLite says UNIQUE, PostgreSQL unique
        session.flush()
    session.rollback()


def test_run_status_moves_only_forward(session: Session) -> None:
    run_id = run_for(session)
    run = finish_run(session, run_id, summary={"gmv": 1234.5}, now=NOW)

    assert (run.status, run.finished_at, run.summary) == ("done", NOW, {"gmv": 1234.5})
    with pytest.raises(InvalidTransition, match="from done to running"):
        set_run_status(session, run_id, "running")
    with pytest.raises(ValueError, match="done or failed"):
        finish_run(session, run_id, "running")  # type: ignore[arg-type]


def test_a_run_for_an_unknown_shop_raises_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match="ghost"):
        start_run(session, "ghost", "2026-03-02", 1)


# --- policy versions ------------------------------------------------------------------------------------------------

def test_policy_versions_increase_and_record_who_and_when(session: Session) -> None:
    v1 = save_policy(session, "alpha", {}, "owner:web", "initial", now=NOW)
    v2 = save_policy(session, "alpha", {"spend": {"daily_cap": 800, "monthly_cap": 20000}, "version": 99},
                     "owner:phone", "周末加预算", now=NOW + timedelta(days=1))

    assert [v.version for v in policy_history(session, "alpha")] == [1, 2]
    assert current_policy(session, "alpha").id == v2.id
    assert (v2.changed_by, v2.changed_at, v2.note) == ("owner:phone", NOW + timedelta(days=1), "周末加预算")
    assert (v2.body["version"], v2.body["changed_by"], v2.body["spend"]["daily_cap"]) == (2, "owner:phone", 800)
    assert v1.body["spend"]["daily_cap"] == 500
    change = audit_log(session, "alpha", event="policy_changed")[-1]
    assert change.actor == "owner:phone"
    assert change.detail["changes"] == {"spend.daily_cap": [500.0, 800.0], "spend.monthly_cap": [12000.0, 20000.0]}


@pytest.mark.parametrize(("body", "field"), [
    ({"spend": {"daily_cap": -1}}, "spend.daily_cap"),
    ({"discount": {"max_discount_pct": 150}}, "discount.max_discount_pct"),
    ({"spend": {"max_bid": 5, "surprise": 1}}, "spend.surprise"),
])
def test_a_bad_policy_body_is_refused_naming_the_field(session: Session, body: dict, field: str) -> None:
    with pytest.raises(PolicyError, match=field.replace(".", r"\.")):
        save_policy(session, "alpha", body, "owner:web")
    assert current_policy(session, "alpha") is None


def test_a_policy_change_needs_who_made_it(session: Session) -> None:
    with pytest.raises(PolicyError, match="changed_by"):
        save_policy(session, "alpha", {}, "  ")


# --- audit log ------------------------------------------------------------------------------------------------------

def test_audit_rows_cannot_be_updated_or_deleted_through_the_orm(engine: Engine) -> None:
    with session_scope(engine) as session:
        run_for(session)
    with pytest.raises(AuditLogIsAppendOnly), session_scope(engine) as session:
        session.exec(select(AuditEvent)).first().actor = "someone else"
    with pytest.raises(AuditLogIsAppendOnly), session_scope(engine) as session:
        session.delete(session.exec(select(AuditEvent)).first())
    with pytest.raises(AuditLogIsAppendOnly), session_scope(engine) as session:
        session.exec(update(AuditEvent).values(actor="x"))
    with pytest.raises(AuditLogIsAppendOnly), session_scope(engine) as session:
        session.exec(delete(AuditEvent))
    with session_scope(engine) as session:
        assert [(e.event, e.actor) for e in audit_log(session, "alpha")] == [("run_started", "system")]


def test_audit_log_filters_by_run_event_and_time(session: Session) -> None:
    first, second = run_for(session, "2026-03-01"), run_for(session, "2026-03-02")
    move(session, new_proposal(session, second), S.PENDING, now=NOW + timedelta(hours=2))

    assert {e.run_id for e in audit_log(session, "alpha", run_id=first)} == {first}
    assert [e.event for e in audit_log(session, "alpha", event="guard_decision")] == ["guard_decision"]
    assert [e.event for e in audit_log(session, "alpha", since=NOW + timedelta(hours=1))] == ["guard_decision"]
    assert [e.event for e in audit_log(session, "alpha", limit=2)] == ["proposed", "guard_decision"]


# --- reports, tokens, text and time ---------------------------------------------------------------------------------

def test_saving_a_report_again_replaces_it(session: Session) -> None:
    save_report(session, shop_id="alpha", date="2026-03-02", locale="zh-CN", markdown="# 日报 v1", now=NOW)
    save_report(session, shop_id="alpha", date="2026-03-02", locale="en", markdown="# Daily report", now=NOW)
    save_report(session, shop_id="alpha", date="2026-03-02", locale="zh-CN", markdown="# 日报 v2",
                html="<h1>日报</h1>", data={"利润": 321.5}, now=NOW)

    assert len(session.exec(select(Report)).all()) == 2
    report = get_report(session, "alpha", "2026-03-02", "zh-CN")
    assert (report.markdown, report.html, report.data) == ("# 日报 v2", "<h1>日报</h1>", {"利润": 321.5})


def test_tokens_are_stored_hashed_and_resolve_to_their_shop(db_url: str) -> None:
    engine = make_engine(db_url)
    init_db(engine)
    with session_scope(engine) as session:
        save_shop(session, "alpha", "Alpha")
        save_shop(session, "beta", "Beta")
        alpha_token, beta_token = issue_token(session, "alpha", "phone"), issue_token(session, "beta", "web")
    engine.dispose()

    engine = make_engine(db_url)
    stored = everything_stored(engine)
    assert alpha_token not in stored and beta_token not in stored
    assert hash_token(alpha_token) in stored
    with session_scope(engine) as session:
        assert shop_for_token(session, alpha_token) == "alpha"
        assert shop_for_token(session, beta_token) == "beta"
        assert shop_for_token(session, alpha_token + "x") is None
        assert shop_for_token(session, "") is None
        assert session.exec(select(ShopToken.label).where(ShopToken.shop_id == "alpha")).all() == ["phone"]
    engine.dispose()


def everything_stored(engine: Engine) -> str:
    """Every row of every table, as text."""
    with engine.connect() as conn:
        return "\n".join(str(tuple(row)) for table in SQLModel.metadata.sorted_tables
                         for row in conn.execute(table.select()))


def test_chinese_text_round_trips_and_is_stored_readable(db_url: str) -> None:
    engine = make_engine(db_url)
    init_db(engine)
    with session_scope(engine) as session:
        save_shop(session, "alpha", "店小二的测试店")
        pid = new_proposal(session, run_for(session), rationale="点击率下降，提价到 1.2 元", sku="连衣裙-红").id
    engine.dispose()

    engine = make_engine(db_url)
    with session_scope(engine) as session:
        proposal = get_proposal(session, pid)
        assert (proposal.rationale, proposal.action["sku"]) == ("点击率下降，提价到 1.2 元", "连衣裙-红")
        assert session.get(type(proposal), pid).target == "连衣裙-红"
        assert audit_log(session, "alpha", event="proposed")[0].detail["rationale"] == "点击率下降，提价到 1.2 元"
    with engine.connect() as raw:  # the JSON text itself, as the database keeps it: no \uXXXX escapes
        assert "连衣裙-红" in raw.exec_driver_sql("SELECT CAST(action AS TEXT) FROM proposals").scalar_one()
    engine.dispose()


def test_infinite_numbers_are_stored_as_null_on_every_backend(db_url: str) -> None:
    # A SKU below the margin floor needs an infinite ROI; a bid raised from zero changes by an infinite percent.
    # PostgreSQL refuses JSON with Infinity (the run died there); SQLite took it and the API then failed to answer.
    engine = make_engine(db_url)
    init_db(engine)
    expected = {"min_roi": float("inf"), "change": float("-inf"), "roi": float("nan"), "cap": 500.0,
                "series": [1.0, float("inf")]}
    with session_scope(engine) as session:
        save_shop(session, "alpha", "Alpha")
        pid = new_proposal(session, run_for(session), expected_effect=expected).id
    with session_scope(engine) as session:
        stored = get_proposal(session, pid).expected_effect
    engine.dispose()
    assert stored == {"min_roi": None, "change": None, "roi": None, "cap": 500.0, "series": [1.0, None]}


def test_timestamps_come_back_timezone_aware_utc_and_naive_ones_are_refused(session: Session) -> None:
    run_id = run_for(session)
    session.expire_all()
    assert get_proposal(session, new_proposal(session, run_id).id).created_at == NOW
    assert audit_log(session, "alpha")[0].at.tzinfo is not None

    with pytest.raises(ValueError, match="no timezone"):
        start_run(session, "alpha", "2026-03-03", 2, now=datetime(2026, 3, 3, 8, 0))
    with pytest.raises(ValueError, match="no timezone"):
        expire_due(session, now=datetime(2026, 3, 3, 8, 0))


# --- engine ---------------------------------------------------------------------------------------------------------

def test_default_database_is_sqlite_in_wal_mode_under_xiaoer_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("XIAOER_HOME", str(tmp_path / "home"))

    engine = make_engine()
    init_db(engine)

    assert engine.url.database == str(tmp_path / "home" / "xiaoer.db")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_database_url_comes_from_the_environment_and_postgres_uses_psycopg(monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/xiaoer")
    assert database_url() == "postgresql+psycopg://u:p@db:5432/xiaoer"
    assert database_url("postgres://u@db/x") == "postgresql+psycopg://u@db/x"
    assert database_url("postgresql+asyncpg://u@db/x") == "postgresql+asyncpg://u@db/x"
    assert database_url("sqlite:///elsewhere.db") == "sqlite:///elsewhere.db"


class _Cursor:
    """A SQLite cursor whose journal-mode switch is refused `refusals` times, as while another process's new
    connection holds the lock, or fails with `error`."""

    def __init__(self, refusals: int = 0, error: str = "database is locked") -> None:
        self.refusals, self.error, self.mode, self.calls = refusals, error, "delete", 0

    def execute(self, sql: str) -> "_Cursor":
        self.calls += 1
        if sql == "PRAGMA journal_mode=WAL":
            if self.refusals:
                self.refusals -= 1
                raise sqlite3.OperationalError(self.error)
            self.mode = "wal"
        return self

    def fetchone(self) -> tuple[str]:
        return (self.mode,)


def test_the_switch_to_wal_is_tried_again_while_another_starting_process_holds_the_lock() -> None:
    cursor = _Cursor(refusals=3)
    _wal(cursor, pause=0)
    assert cursor.mode == "wal"


def test_a_file_already_in_wal_is_left_as_it_is_and_other_errors_are_not_retried() -> None:
    done = _Cursor()
    done.mode = "wal"
    _wal(done, pause=0)
    assert done.calls == 1  # only the look
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        _wal(_Cursor(refusals=1, error="disk I/O error"), pause=0)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _wal(_Cursor(refusals=10), tries=3, pause=0)
