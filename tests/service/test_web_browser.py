"""The owner page in a real headless Chromium, against the real app served by uvicorn on loopback.

The shop's platform is the simulated marketplace in-process; the owner signs in with the token,
starts the day's run, approves what waits, and the action lands on the platform. On a phone the
page fits the screen and the Chinese renders as glyphs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser import PHONE, SCREENSHOTS, glyph_prints
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine

from agent import storage
from agent.checkpoints import open_checkpointer
from agent.service import web
from agent.service.app import create_app
from agent.service.platform import ShopPlatforms
from agent.service.settings import ServiceSettings
from agent.service.web_text import keys, text
from agent.serving import serve_in_thread
from marketplace.client import AdminClient, in_process
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
                yield Site(url, token, spec.id, engine, AdminClient(platform_http, PLATFORM_ADMIN))
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


def _sign_in_and_run(page: Page, site: Site, lang: str | None = None) -> None:
    page.goto(site.url + (f"/?lang={lang}" if lang else "/"))
    page.fill("#token", site.token)
    with page.expect_navigation():
        page.click("button[type=submit]")
    with page.expect_navigation():
        page.click("#run-now")


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


def test_every_page_string_has_both_languages_with_the_same_placeholders():
    for key in keys():
        en, zh = text(key, "en"), text(key, "zh-CN")
        assert en and zh, key
        assert sorted(re.findall(r"{(\w+)}", en)) == sorted(re.findall(r"{(\w+)}", zh)), key
        assert key == "lang.other" or not re.search(r"[\u4e00-\u9fff]", en), f"{key}: Chinese in the English text"
        assert key == "lang.other" or re.search(r"[\u4e00-\u9fff]", zh), f"{key}: no Chinese in zh-CN"
