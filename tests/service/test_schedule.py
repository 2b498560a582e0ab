"""The scheduler: which shops are due (a pure function of shops, runs and the clock), the real scheduler firing,
and the app running it (and handing it the reports of runs started over the API)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from agent.jobs import RunView
from agent.service.app import create_app
from agent.service.fanout import Due
from agent.service.schedule import (
    ERROR_PAUSE,
    STALE_AFTER,
    Scheduler,
    due_runs,
    due_shops,
    run_time,
    start_scheduler,
    stop_scheduler,
)
from agent.service.settings import ServiceSettings
from agent.storage import Run, RunExists, Shop, finish_run, init_db, make_engine, save_shop, session_scope, start_run

from .conftest import SHOP_A, Service
from .test_api import POLICY

SHANGHAI = "Asia/Shanghai"  # UTC+8, no daylight saving
# 2026-03-02 08:00 in Shanghai is 00:00 UTC.
AT_8_SHANGHAI = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def shop(shop_id: str = "s1", timezone: str = SHANGHAI, at: str = "08:00") -> Shop:
    return Shop(id=shop_id, name=shop_id, timezone=timezone, daily_run_time=at)


def run(started: datetime, status: str = "done", shop_id: str = "s1", date: str = "2026-03-02") -> Run:
    return Run(id=f"r-{started.isoformat()}-{status}", shop_id=shop_id, day=0, date=date, thread_id="t",
               started_at=started, status=status)


# --- which shops are due ----------------------------------------------------------------------------------------------

def test_due_once_the_local_time_is_reached_not_a_minute_before():
    assert due_shops([shop()], [], AT_8_SHANGHAI - timedelta(minutes=1)) == []
    assert due_shops([shop()], [], AT_8_SHANGHAI) == ["s1"]
    assert due_shops([shop()], [], AT_8_SHANGHAI + timedelta(hours=15, minutes=59)) == ["s1"]  # 23:59 local


def test_due_reads_each_shops_own_timezone():
    shops = [shop("sh"), shop("ny", "America/New_York"), shop("ldn", "Europe/London", "00:00")]
    # 00:00 UTC: 08:00 in Shanghai, 19:00 the evening before in New York (EST), midnight in London.
    assert due_shops(shops, [], AT_8_SHANGHAI) == ["sh", "ny", "ldn"]
    # New York's 08:00 is 13:00 UTC; by then Shanghai and London have run.
    ran = [run(AT_8_SHANGHAI, shop_id="sh"), run(AT_8_SHANGHAI, shop_id="ldn"),
           run(AT_8_SHANGHAI, shop_id="ny")]  # New York's run of 1 March (local), started at 19:00 EST
    assert due_shops(shops, ran, datetime(2026, 3, 2, 12, 59, tzinfo=UTC)) == []
    assert due_shops(shops, ran, datetime(2026, 3, 2, 13, 0, tzinfo=UTC)) == ["ny"]


def test_local_day_boundary_decides_what_today_means():
    # A run started at 23:30 Shanghai time on 1 March is yesterday's, though it is the same UTC date as 8:00 on 2 March.
    yesterday_late = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)
    assert due_shops([shop()], [run(yesterday_late)], AT_8_SHANGHAI) == ["s1"]
    # And a run started at 00:10 local on 2 March (owner's "run now") is today's.
    just_after_midnight = datetime(2026, 3, 1, 16, 10, tzinfo=UTC)
    assert due_shops([shop()], [run(just_after_midnight)], AT_8_SHANGHAI) == []


@pytest.mark.parametrize("status", ["waiting_approval", "done"])
def test_not_due_when_a_live_run_started_today(status):
    assert due_shops([shop()], [run(AT_8_SHANGHAI + timedelta(seconds=5), status)],
                     AT_8_SHANGHAI + timedelta(hours=3)) == []


def test_a_run_left_running_by_a_dead_process_is_due_again_to_resume_not_before():
    started = AT_8_SHANGHAI + timedelta(seconds=5)
    running = run(started, "running")
    assert due_shops([shop()], [running], started + STALE_AFTER - timedelta(seconds=1)) == []
    # Past the stale time the shop is due again, as the same attempt: run_daily resumes that run.
    failed_earlier = run(AT_8_SHANGHAI - timedelta(minutes=1), "failed")
    assert due_runs([shop()], [failed_earlier, running], started + STALE_AFTER) == [
        Due("s1", date(2026, 3, 2), attempt=1)]
    assert due_runs([shop()], [running], started + STALE_AFTER) == [Due("s1", date(2026, 3, 2), attempt=0)]


def test_attempts_count_the_days_failed_runs():
    failed = [run(AT_8_SHANGHAI, "failed"), run(AT_8_SHANGHAI + timedelta(minutes=40), "failed")]
    assert due_runs([shop()], failed, AT_8_SHANGHAI + timedelta(hours=2)) == [Due("s1", date(2026, 3, 2), attempt=2)]
    assert Due("s1", date(2026, 3, 2), 2).job_id == "daily-s1-2026-03-02-2"
    assert Due("my_shop.cn", date(2026, 3, 2), 0).job_id == "daily-my_5fshop_2ecn-2026-03-02-0"


def test_failed_run_is_retried_after_a_pause_and_at_most_three_times_a_day():
    failed = run(AT_8_SHANGHAI, "failed")
    assert due_shops([shop()], [failed], AT_8_SHANGHAI + timedelta(minutes=29)) == []
    assert due_shops([shop()], [failed], AT_8_SHANGHAI + timedelta(minutes=30)) == ["s1"]
    three = [run(AT_8_SHANGHAI + timedelta(hours=h), "failed") for h in range(3)]
    assert due_shops([shop()], three, AT_8_SHANGHAI + timedelta(hours=5)) == []
    assert due_shops([shop()], three, AT_8_SHANGHAI + timedelta(hours=5), max_attempts=4) == ["s1"]
    # A failure and then a successful retry: done for the day.
    retried = [failed, run(AT_8_SHANGHAI + timedelta(hours=1))]
    assert due_shops([shop()], retried, AT_8_SHANGHAI + timedelta(hours=5)) == []


def test_runs_of_other_shops_do_not_count():
    assert due_shops([shop("a"), shop("b")], [run(AT_8_SHANGHAI, shop_id="a")], AT_8_SHANGHAI) == ["b"]


def test_daylight_saving_day_still_runs_once():
    # New York springs forward on 8 March 2026: 02:30 does not exist that day; the run starts at 03:00 EDT.
    ny = shop("ny", "America/New_York", "02:30")
    assert due_shops([ny], [], datetime(2026, 3, 8, 6, 59, tzinfo=UTC)) == []  # 01:59 EST
    assert due_shops([ny], [], datetime(2026, 3, 8, 7, 0, tzinfo=UTC)) == ["ny"]  # 03:00 EDT


def test_shops_with_unusable_settings_are_skipped():
    shops = [shop("bad-zone", "Mars/Olympus"), shop("bad-time", at="8am"), shop("ok")]
    assert due_shops(shops, [], AT_8_SHANGHAI) == ["ok"]
    with pytest.raises(ValueError, match="daily_run_time '8am' is not HH:MM"):
        run_time(shops[1])


# --- the real scheduler -----------------------------------------------------------------------------------------------

class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class FakeJobs:
    """Stands in for agent.jobs.Jobs: records calls and opens a run in storage like the real one."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine, self.clock = engine, clock
        self.runs: list[str] = []
        self.sweeps = 0
        self.ran = threading.Event()

    def run_daily(self, shop_id: str, *, actor: str = "scheduler") -> RunView:
        with session_scope(self.engine) as s:
            r = start_run(s, shop_id, "2026-03-02", 0, actor=actor, now=self.clock())
            finish_run(s, r.id, "done", now=self.clock())
        self.runs.append(shop_id)
        self.ran.set()
        return RunView(run_id=r.id, shop_id=shop_id, date=r.date, status="done")

    def expire_due(self) -> list[str]:
        self.sweeps += 1
        return []


@pytest.fixture
def engine(tmp_path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    init_db(engine)
    with session_scope(engine) as s:
        save_shop(s, "s1", "Shop one", timezone=SHANGHAI, daily_run_time="08:00")
    return engine


def _tick_and_wait(scheduler: Scheduler) -> None:
    """Fire the tick now on the scheduler's own thread pool and wait until it has finished."""
    done = threading.Event()

    def listener(event) -> None:
        if event.job_id == "tick":
            done.set()

    scheduler.aps.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.aps.get_job("tick").modify(next_run_time=datetime.now(UTC))
    assert done.wait(10), "the tick did not run"
    scheduler.aps.remove_listener(listener)


def test_scheduler_fires_once_at_the_shops_time_and_not_again(engine):
    clock = Clock(AT_8_SHANGHAI - timedelta(minutes=1))
    jobs = FakeJobs(engine, clock)
    pushed: list[tuple[str, str]] = []
    push_done = threading.Event()

    def push(shop_id: str, run_id: str) -> None:
        pushed.append((shop_id, run_id))
        push_done.set()

    scheduler = Scheduler(engine=engine, jobs=jobs, now=clock, push=push)
    scheduler.start()
    try:
        _tick_and_wait(scheduler)  # 07:59 local: nothing yet
        assert jobs.runs == []

        clock.now = AT_8_SHANGHAI
        _tick_and_wait(scheduler)
        assert jobs.ran.wait(10), "the run did not start"
        assert push_done.wait(10), "the report went to no webhook after the run"
        _tick_and_wait(scheduler)  # 08:00 again, and after a restart below: the day's run exists
    finally:
        scheduler.stop()
    assert jobs.runs == ["s1"]
    assert [s for s, _ in pushed] == ["s1"]
    assert jobs.sweeps >= 1, "the expiry sweep runs at start"

    restarted = Scheduler(engine=engine, jobs=jobs, now=clock, push=lambda s, r: None)
    assert restarted.due() == [] and restarted.tick() == []


def test_scheduler_catches_up_on_start_when_the_time_passed_while_down(engine):
    clock = Clock(AT_8_SHANGHAI + timedelta(hours=5))  # the service comes up at 13:00 local, no run today
    jobs = FakeJobs(engine, clock)
    scheduler = Scheduler(engine=engine, jobs=jobs, now=clock, push=lambda s, r: None)
    scheduler.start()  # the first tick runs at start, no waiting for the interval
    try:
        assert jobs.ran.wait(10), "no catch-up run at start"
    finally:
        scheduler.stop()
    assert jobs.runs == ["s1"]


def test_run_exists_from_another_process_is_not_an_error(engine):
    clock = Clock(AT_8_SHANGHAI)

    class Racing(FakeJobs):
        def run_daily(self, shop_id: str, *, actor: str = "scheduler") -> RunView:
            raise RunExists("shop s1 already has run r0 for 2026-03-02")

    scheduler = Scheduler(engine=engine, jobs=Racing(engine, clock), now=clock, push=lambda s, r: None)
    scheduler.run_shop("s1")  # logged, not raised; and the shop is no longer marked as running
    assert scheduler._in_flight == set()
    # No run started today in storage, so the shop is still due; but it is not asked again every minute.
    assert scheduler.due() == ["s1"] and scheduler.tick() == []
    clock.now += timedelta(minutes=30)
    assert scheduler.tick() == ["s1"]


def test_a_run_that_raised_is_tried_again_after_a_pause_not_every_minute(engine):
    clock = Clock(AT_8_SHANGHAI)

    class Down(FakeJobs):
        def run_daily(self, shop_id: str, *, actor: str = "scheduler") -> RunView:
            self.runs.append(shop_id)
            raise ConnectionError("platform unreachable")

    jobs = Down(engine, clock)
    scheduler = Scheduler(engine=engine, jobs=jobs, now=clock, push=lambda s, r: None)
    with pytest.raises(ConnectionError):
        scheduler.run_shop("s1")  # APScheduler logs it
    assert scheduler._in_flight == set() and scheduler.due() == ["s1"]
    clock.now += ERROR_PAUSE - timedelta(seconds=1)
    assert scheduler.tick() == []
    clock.now += timedelta(seconds=1)
    assert scheduler.tick() == ["s1"]


def test_start_and_stop_scheduler_on_an_app_state(engine):
    clock = Clock(AT_8_SHANGHAI - timedelta(hours=1))
    state = SimpleNamespace(engine=engine, jobs=FakeJobs(engine, clock))
    scheduler = start_scheduler(state, now=clock, push=lambda s, r: None)
    try:
        assert state.scheduler is scheduler and scheduler.aps.running
        assert {job.id for job in scheduler.aps.get_jobs()} >= {"tick", "sweep"}
    finally:
        stop_scheduler(state)
    assert state.scheduler is None and not scheduler.aps.running
    stop_scheduler(state)  # stopping twice is harmless


# --- the app's scheduler ----------------------------------------------------------------------------------------------

def test_the_app_runs_a_scheduler_while_up_only_when_settings_say_so(tmp_path):
    on = create_app(ServiceSettings(home=tmp_path / "on", scheduler=True, public_url="http://xiaoer.example"))
    with TestClient(on):
        scheduler = on.state.scheduler
        assert scheduler is not None and scheduler.aps.running and scheduler.base_url == "http://xiaoer.example"
    assert on.state.scheduler is None and not scheduler.aps.running
    off = create_app(ServiceSettings(home=tmp_path / "off", scheduler=False))
    with TestClient(off):
        assert off.state.scheduler is None


def test_api_runs_and_decisions_push_reports_as_the_page_does(service: Service):
    pushed: list[tuple[str, str]] = []
    service.app.state.scheduler = SimpleNamespace(push_later=lambda shop_id, run_id: pushed.append((shop_id, run_id)))
    owner = service.bearer(service.create_shop(SHOP_A, policy=POLICY))

    run = service.http.post(f"/shops/{SHOP_A}/runs", headers=owner).json()
    assert pushed == [(SHOP_A, run["run_id"])]
    answer = service.http.post(f"/shops/{SHOP_A}/proposals/{run['pending'][0]}/reject", headers=owner)
    assert answer.status_code == 200, answer.text
    assert pushed == [(SHOP_A, run["run_id"])] * 2
