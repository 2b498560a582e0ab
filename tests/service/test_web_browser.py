"""The owner page in a real headless Chromium, against the real app served by uvicorn on loopback.

The shop's platform is the simulated marketplace in-process; the owner signs in with the token,
starts the day's run, approves what waits, and the action lands on the platform. On a phone the
page fits the screen and the Chinese renders as glyphs. In the chat box the answer streams in with
the platform's own numbers, the thread goes on, and what the model suggests lands in the queue.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser import PHONE, SCREENSHOTS, glyph_prints
from fastapi import FastAPI
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import Engine

from agent import storage
from agent.checkpoints import open_checkpointer
from agent.llm import LlmSettings, make_chat_model
from agent.llm_stub import LlmStub, call, run_stub, say
from agent.service import web
from agent.service.app import create_app
from agent.service.platform import ShopPlatforms
from agent.service.settings import ServiceSettings
from agent.service.web_text import keys, text
from agent.serving import serve_in_thread
from marketplace.client import AdminClient, PlatformClient, in_process
from marketplace.scenario import load_scenario
from marketplace.world import World
from policies.domain import ActionKind
from policies.limits import AutonomyRule, Policy

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "fat_margin_underspend.yaml"
SHOP_NAME = "茶叶小铺 <i>fat</i>"  # markup in a name must show as text
PLATFORM_ADMIN = "platform-admin"
RUN_TIMEOUT_MS = 120_000  # a run observes, plans, guards and reports before the page comes back

WIDTHS_JS = "[document.documentElement.scrollWidth, document.body.scrollWidth, innerWidth]"


def one_approval(policy: Policy) -> Policy:
    """The owner lets everything run on its own inside the limits, except campaign mode changes."""
    rules = {kind: AutonomyRule(mode="auto") for kind in ActionKind}
    rules[ActionKind.SET_CAMPAIGN_MODE] = AutonomyRule(mode="approval")
    return policy.model_copy(update={"autonomy": policy.autonomy.model_copy(update={"rules": rules})})


@dataclass
class Site:
    url: str
    token: str
    shop_id: str
    engine: Engine
    platform_admin: AdminClient
    platform: PlatformClient  # the shop's own view of the platform, for the numbers the chat should show
    app: FastAPI

    def proposal(self, pid: str) -> storage.Proposal:
        with storage.session_scope(self.engine) as s:
            found = storage.get_proposal(s, pid)
        assert found is not None
        return found


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """The API app with the owner page, on uvicorn, for one shop of the fat-margin scenario after three days."""
    for name in ("XIAOER_LLM_BASE_URL", "XIAOER_LLM_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)  # the deterministic planner; no model is ever called
    world = World(load_scenario(SCENARIO))
    for _ in range(3):
        world.step()
    spec = world.scenario.shops[0]
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'xiaoer.db'}")
    storage.init_db(engine)
    with storage.session_scope(engine) as s:
        storage.save_shop(s, spec.id, SHOP_NAME, locale="zh-CN", platform_url="http://platform.test",
                          platform_token=world.token_for(spec.id))
        storage.save_policy(s, spec.id, one_approval(spec.policy).model_dump(mode="json"), "owner:amy")
        token = storage.issue_token(s, spec.id, "amy")
    try:
        with in_process(world, admin_token=PLATFORM_ADMIN) as platform_http, \
                open_checkpointer(tmp_path / "checkpoints.sqlite") as checkpointer, \
                ShopPlatforms(engine, http=platform_http) as platform:
            app = create_app(ServiceSettings(home=tmp_path, scheduler=False), engine=engine, checkpointer=checkpointer,
                             platform=platform)
            with serve_in_thread(app, lifespan="on", name="xiaoer") as url:
                yield Site(url, token, spec.id, engine, AdminClient(platform_http, PLATFORM_ADMIN),
                           PlatformClient(platform_http, spec.id, world.token_for(spec.id)), app)
    finally:
        engine.dispose()


@pytest.fixture
def console_errors() -> list[str]:
    return []


def _page(browser: Browser, errors: list[str], **options) -> Page:
    page = browser.new_page(**options)
    page.set_default_timeout(RUN_TIMEOUT_MS)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page


def _watch_csp(page: Page) -> list[str]:
    """Every Content-Security-Policy violation the page's documents report, as "directive blocked-URI"."""
    violations: list[str] = []
    page.expose_function("reportCspViolation", lambda violation: violations.append(violation))
    page.add_init_script("document.addEventListener('securitypolicyviolation', "
                         "(e) => window.reportCspViolation(`${e.violatedDirective} ${e.blockedURI}`))")
    return violations


def _sign_in(page: Page, site: Site, lang: str | None = None) -> None:
    page.goto(site.url + (f"/?lang={lang}" if lang else "/"))
    page.fill("#token", site.token)
    with page.expect_navigation():
        page.click("button[type=submit]")


def _sign_in_and_run(page: Page, site: Site, lang: str | None = None) -> None:
    _sign_in(page, site, lang)
    with page.expect_navigation():
        page.click("#run-now")


def _ask(page: Page, message: str, *, tap: bool = False) -> Locator:
    """Send `message` from the chat box (Enter, or a tap on Send); the answer, once its stream has ended."""
    answers = page.locator("#chat-log .msg.bot")
    before = answers.count()
    page.fill("#chat-input", message)
    if tap:
        page.click("#chat-send")
    else:
        page.press("#chat-input", "Enter")
    expect(answers).to_have_count(before + 1)
    expect(page.locator("#chat-send")).to_be_enabled()  # disabled while the answer streams
    return answers.last


def _shop_totals(platform: PlatformClient, days: int) -> tuple[str, int, float]:
    """The platform's own figures for the last `days` finished days: the last one's date, and the orders and GMV
    of all of them."""
    end = int(platform.shop()["day"]) - 1
    rows = platform.metrics(start_day=max(0, end - days + 1), end_day=end)
    return max(r["date"] for r in rows), round(sum(r["orders"] for r in rows)), sum(r["gmv"] for r in rows)


def test_owner_signs_in_runs_approves_and_the_action_reaches_the_platform(browser, site, console_errors):
    page = _page(browser, console_errors)
    try:
        page.goto(site.url + "/?lang=en")
        page.fill("#token", "xo_not-a-token")
        with page.expect_navigation():
            page.click("button[type=submit]")
        expect(page.get_by_role("alert")).to_have_text("That token does not open any shop.")
        console_errors.clear()  # the browser logs the 401 of that answer; from here on nothing may fail

        _sign_in_and_run(page, site, "en")
        (cookie,) = page.context.cookies()
        assert cookie["name"] == web.COOKIE and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert page.evaluate("document.cookie") == "", "scripts cannot read the owner token"
        expect(page.locator(".brand")).to_have_text(f"Xiaoer · {SHOP_NAME}")  # escaped, not markup
        expect(page.get_by_role("status")).to_have_text("Today's run is waiting for your approval.")
        item = page.locator("article[data-proposal]")
        expect(item).to_have_count(1)
        expect(item).to_contain_text("Campaign mode")
        expect(item.locator(".rationale")).to_contain_text("orders/day")
        expect(item.locator(".guard")).to_contain_text("autonomy.rules.set_campaign_mode")
        pid = item.get_attribute("data-proposal")
        assert pid and site.proposal(pid).state == "pending"
        expect(page.locator("#run-history tbody tr")).to_have_attribute("data-status", "waiting_approval")

        report = page.frame_locator("#report-frame")
        expect(report.locator("h1")).to_contain_text("Daily report")
        page.wait_for_function("document.getElementById('report-frame').offsetHeight > 1000")  # grown to fit

        _forged_approval_from_another_site(browser, site, pid)

        with page.expect_navigation():
            item.locator("button[data-action=approve]").click()
        expect(page.get_by_role("status")).to_have_text("Approved; the run carried on.")
        expect(page.locator("article[data-proposal]")).to_have_count(0)
        expect(page.locator("#queue-empty")).to_be_visible()
        row = page.locator("#run-history tbody tr")
        expect(row).to_have_attribute("data-status", "done")
        expect(row.locator("td").nth(1)).to_have_text("done")
        assert int(row.locator("td").nth(2).inner_text()) >= 1
        expect(row.locator("td").nth(3)).to_have_text("0")

        with page.expect_navigation():
            page.get_by_role("button", name="Sign out").click()
        expect(page.locator("#token")).to_be_visible()
        assert page.context.cookies() == []
    finally:
        page.close()

    approved = site.proposal(pid)
    assert approved.state == "executed" and approved.approved_by == "amy"
    change = next(c for c in site.platform_admin.changes() if c["idempotency_key"] == approved.idempotency_key)
    assert change["target"] == approved.target == "cmp-F-CUPS" and change["kind"] == "campaign.mode"
    assert console_errors == []


def _forged_approval_from_another_site(browser: Browser, site: Site, pid: str) -> None:
    """A page on another site auto-submits an approval form to the owner page: nothing happens."""
    context = browser.new_context()
    try:
        evil = context.new_page()
        form = (f'<form method="post" action="{site.url}/decide"><input name="proposal_id" value="{pid}">'
                '<input name="decision" value="approve"></form><script>document.forms[0].submit()</script>')
        evil.route("http://evil.test/", lambda route: route.fulfill(content_type="text/html", body=form))
        context.add_cookies([{"name": web.COOKIE, "value": site.token, "url": site.url, "sameSite": "Strict"}])
        with evil.expect_navigation():
            evil.goto("http://evil.test/")
    finally:
        context.close()
    assert site.proposal(pid).state == "pending", "a cross-site form must not approve anything"


def test_owner_page_fits_a_phone_in_chinese_and_an_edit_is_applied(browser, site, console_errors, tmp_path):
    page = _page(browser, console_errors, viewport=PHONE, device_scale_factor=2)
    try:
        page.goto(site.url + "/")
        expect(page.locator("h1")).to_have_text("登录你的店铺")  # before sign-in: Chinese unless ?lang=en
        _sign_in_and_run(page, site)
        expect(page.get_by_role("status")).to_have_text("今天的运行正在等你审批。")
        expect(page.locator("h2").first).to_have_text("等待你审批")
        expect(page.locator("#policy")).to_contain_text("全店每天广告花费不超过")
        item = page.locator("article[data-proposal]")
        expect(item).to_have_count(1)
        item.locator("summary[data-action=edit]").click()  # the edit form is open in the screenshot
        expect(item.locator("input[name=field_target_roi]")).to_be_visible()
        page.frame_locator("#report-frame").locator("h1").wait_for()
        page.wait_for_function("document.getElementById('report-frame').offsetHeight > 1000")

        _, orders, _ = _shop_totals(site.platform, days=1)  # a question in the chat box, in the screenshot too
        expect(_ask(page, "昨天的订单怎么样？", tap=True)).to_contain_text(re.compile(rf"订单数：{orders:,}\b"))

        widths = page.evaluate(WIDTHS_JS)
        assert max(widths[:2]) <= widths[2] == PHONE["width"], f"page overflows the phone: {widths}"
        prints = glyph_prints(page, ["审", "批", "限", "额", "店"])
        assert len(set(prints)) == 5, f"Chinese renders as boxes (no CJK font?): {prints}"
        png = page.screenshot(path=str(tmp_path / "owner-page-zh-CN.png"), full_page=True)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / "owner-page-zh-CN.png").write_bytes(png)

        pid = item.get_attribute("data-proposal")
        assert pid is not None
        item.locator("input[name=field_target_roi]").fill("5.5")
        with page.expect_navigation():
            item.locator("form:has(input[name=decision][value=edit]) button[type=submit]").click()
        expect(page.get_by_role("status")).to_have_text("你的修改已按限额重新校验，运行已继续。")
        expect(page.locator("#run-history tbody tr")).to_have_attribute("data-status", "done")
        assert page.evaluate(WIDTHS_JS)[0] <= PHONE["width"]

        page.click("#lang-toggle")
        expect(page.locator("h2").first).to_have_text("Waiting for your approval")
    finally:
        page.close()

    assert site.proposal(pid).state == "rejected", "an edited proposal is replaced by the owner's version"
    mode = next(c for c in site.platform_admin.changes() if c["kind"] == "campaign.mode")
    assert mode["after"]["target_roi"] == 5.5
    assert console_errors == []


def test_owner_pauses_xiaoer_from_the_header_sees_the_banner_and_resumes(browser, site, console_errors):
    page = _page(browser, console_errors, viewport=PHONE)
    banner = page.locator("#paused-banner")
    try:
        _sign_in(page, site)
        expect(banner).to_have_count(0)
        with page.expect_navigation():
            page.get_by_role("button", name="暂停店小二").click()
        expect(banner).to_be_visible()
        expect(banner).to_have_text("店小二已暂停：在你恢复之前，任何操作都不会执行。")
        page.locator("#edit-limits summary").click()
        expect(page.locator("#limit-spend-daily_cap")).to_be_visible()
        widths = page.evaluate(WIDTHS_JS)
        assert max(widths[:2]) <= widths[2] == PHONE["width"], f"page overflows the phone: {widths}"
        with page.expect_navigation():
            page.get_by_role("button", name="恢复").click()
        expect(banner).to_have_count(0)
        expect(page.get_by_role("button", name="暂停店小二")).to_be_visible()
    finally:
        page.close()
    with storage.session_scope(site.engine) as s:
        versions = storage.policy_history(s, site.shop_id)
    assert [v.body["autonomy"]["kill_switch"] for v in versions] == [False, True, False]
    assert [v.changed_by for v in versions[1:]] == ["amy", "amy"]
    assert console_errors == []


def test_owner_asks_in_the_chat_box_and_the_answer_streams_in_with_the_platforms_numbers(browser, site,
                                                                                          console_errors):
    page = _page(browser, console_errors)
    violations = _watch_csp(page)
    sent: list[dict] = []
    threads: list[str | None] = []
    page.on("request", lambda r: sent.append(r.post_data_json) if r.url == f"{site.url}/chat" else None)
    page.on("response", lambda r: threads.append(r.headers.get("x-thread-id")) if r.url == f"{site.url}/chat" else None)
    date, orders, gmv = _shop_totals(site.platform, days=1)
    _, week_orders, _ = _shop_totals(site.platform, days=7)
    try:
        _sign_in(page, site, "en")  # no LLM configured: the chat answers from the platform without one
        expect(page.locator("#chat-off")).to_be_hidden()  # "needs JavaScript": not here, it runs
        expect(page.locator("#chat-input")).to_have_attribute("placeholder", "How did we do yesterday?")
        answer = _ask(page, "How did we do yesterday?")
        expect(answer).to_contain_text(f"Yesterday ({date})")
        expect(answer).to_contain_text(f"GMV: ¥{gmv:,.2f}")
        expect(answer).to_contain_text(re.compile(rf"Orders: {orders:,}\b"))
        assert answer.locator(".say").evaluate("n => n.childNodes.length") > 1, "the answer came in pieces"

        again = _ask(page, "And the week before?")
        expect(again).to_contain_text(re.compile(rf"Orders: {week_orders:,}\b"))
        assert threads[0] and threads == [threads[0]] * 2
        assert sent == [{"message": "How did we do yesterday?", "thread_id": None},
                        {"message": "And the week before?", "thread_id": threads[0]}]
        key = f"chat:{site.shop_id}:{threads[0]}"
        saved = site.app.state.checkpointer.get_tuple({"configurable": {"thread_id": key}})
        assert len(saved.checkpoint["channel_values"]["messages"]) == 4  # one thread: two questions, two answers

        page.reload()  # the conversation is kept for the tab
        expect(page.locator("#chat-log .msg.me")).to_have_count(2)
        page.click("#chat-new")
        expect(page.locator("#chat-log .msg")).to_have_count(0)
        with storage.session_scope(site.engine) as s:
            max_bid = storage.current_policy(s, site.shop_id).body["spend"]["max_bid"]
        expect(_ask(page, "What are my limits?")).to_contain_text(f"Highest bid: ¥{max_bid:,.2f}")
        assert sent[-1]["thread_id"] is None and threads[-1] not in (None, threads[0])
        assert page.evaluate("document.cookie") == "", "scripts cannot read the owner token"
        with page.expect_navigation():
            page.get_by_role("button", name="Sign out").click()
        assert page.evaluate("sessionStorage.length") == 0, "signing out leaves no conversation in the tab"

        assert console_errors == [] and violations == []
        page.evaluate("fetch('http://elsewhere.test/').catch(() => null)")  # and the watch does see a violation
        for _ in range(50):
            if violations:
                break
            page.wait_for_timeout(100)
        assert [v.split()[0] for v in violations] == ["connect-src"], violations
    finally:
        page.close()


def test_what_the_model_suggests_in_the_chat_box_waits_in_the_queue_and_can_be_approved(browser, site,
                                                                                       console_errors):
    stub = LlmStub([call("get_campaigns"),
                    call("propose_bid", campaign_id="cmp-F-OOLONG", bid=0.7, rationale="ROI well above break-even"),
                    say("I suggested a higher bid for the oolong campaign.")])
    page = _page(browser, console_errors)
    violations = _watch_csp(page)
    try:
        with run_stub(stub) as base_url:
            site.app.state.chat_model = make_chat_model(
                LlmSettings(base_url=base_url, api_key="stub", model="stub-model"), streaming=True, max_retries=0)
            _sign_in(page, site, "en")
            expect(page.locator("#queue-empty")).to_be_visible()
            page.evaluate("window.samePage = true")
            answer = _ask(page, "Should I bid more on oolong?")
        expect(answer.locator(".tool")).to_have_text(["looked at: get_campaigns", "looked at: propose_bid"])
        card = answer.locator(".proposal")
        expect(card).to_contain_text("Suggested: Bid · cmp-F-OOLONG")
        expect(card).to_contain_text("it waits in your approval queue")
        expect(card.get_by_role("link", name="Open the queue")).to_have_attribute("href", "#queue")
        expect(answer.locator(".say").last).to_have_text("I suggested a higher bid for the oolong campaign.")

        item = page.locator("article[data-proposal]")
        expect(item).to_have_count(1)  # the queue was reloaded in place, the page was not
        expect(page.locator("#nav-queue .tag")).to_have_text("1")
        assert page.evaluate("window.samePage") is True
        pid = item.get_attribute("data-proposal")
        assert pid and site.proposal(pid).state == "pending" and site.proposal(pid).kind == "set_bid"

        with page.expect_navigation():
            item.locator("button[data-action=approve]").click()
        expect(page.get_by_role("status")).to_have_text("Approved; the run carried on.")
        expect(page.locator("#chat-log .proposal")).to_have_count(1)  # the conversation outlived the reload
    finally:
        page.close()

    approved = site.proposal(pid)
    assert approved.state == "executed"
    change = next(c for c in site.platform_admin.changes() if c["idempotency_key"] == approved.idempotency_key)
    assert change["target"] == "cmp-F-OOLONG" and change["after"] == 0.7
    assert console_errors == [] and violations == []


def test_without_a_model_a_change_asked_for_in_the_chat_box_waits_in_the_queue_and_approve_1_runs_it(
        browser, site, console_errors):
    page = _page(browser, console_errors)
    try:
        _sign_in(page, site, "en")  # no LLM configured
        expect(page.locator("#queue-empty")).to_be_visible()
        answer = _ask(page, "Set F-OOLONG's bid to 0.7")
        expect(answer.locator(".proposal")).to_contain_text("Suggested: Bid · cmp-F-OOLONG")
        expect(answer.locator(".say").last).to_contain_text("¥0.70")
        item = page.locator("article[data-proposal]")
        expect(item).to_have_count(1)  # the queue reloads in place
        expect(item).to_contain_text("you asked in chat")
        pid = item.get_attribute("data-proposal")
        assert pid and site.proposal(pid).proposed_by == "owner-chat" and site.proposal(pid).action["bid"] == 0.7
        assert site.platform_admin.changes() == []

        answer = _ask(page, "approve 1")  # the queue answered in words, as the buttons would
        expect(answer.locator(".say").last).to_contain_text("Approved #1")
        expect(page.locator("article[data-proposal]")).to_have_count(0)
    finally:
        page.close()
    assert site.proposal(pid).state == "executed"
    assert [(c["target"], c["after"]) for c in site.platform_admin.changes()] == [("cmp-F-OOLONG", 0.7)]
    assert console_errors == []


def test_without_javascript_the_chat_box_says_so_and_the_page_still_works(browser, site, console_errors):
    page = _page(browser, console_errors, java_script_enabled=False)
    try:
        _sign_in_and_run(page, site, "en")
        expect(page.get_by_role("status")).to_have_text("Today's run is waiting for your approval.")
        expect(page.locator("#chat-box")).to_be_hidden()
        expect(page.locator("#chat")).to_contain_text("The chat box needs JavaScript")
        with page.expect_navigation():
            page.locator("article[data-proposal] button[data-action=reject]").click()
        expect(page.get_by_role("status")).to_have_text("Rejected; it will not run.")
    finally:
        page.close()
    assert console_errors == []


def test_every_page_string_has_both_languages_with_the_same_placeholders():
    for key in keys():
        en, zh = text(key, "en"), text(key, "zh-CN")
        assert en and zh, key
        assert sorted(re.findall(r"{(\w+)}", en)) == sorted(re.findall(r"{(\w+)}", zh)), key
        assert key == "lang.other" or not re.search(r"[\u4e00-\u9fff]", en), f"{key}: Chinese in the English text"
        assert key == "lang.other" or re.search(r"[\u4e00-\u9fff]", zh), f"{key}: no Chinese in zh-CN"
