"""The LLM path through the whole daily run, offline: real `ChatOpenAI` against the local stub server.

The model reads with the tools, proposes (one proposal far over the owner's max bid, as a model
misled by a product title might), writes the report's narrative; the guard still decides, and
nothing outside the policy executes. When the model's server is down, the built-in planner runs
the day and the plan says why.
"""

import json

from test_jobs import T0, Desk, desk  # noqa: F401  (the fixture)

from agent import storage
from agent.llm import LlmSettings, make_chat_model
from agent.llm_stub import LlmStub, Reply, call, say

NARRATIVE = {"en": "Stub narrative: spend moved to the SKUs that pay.", "zh-CN": "桩叙述：预算投向赚钱的商品。"}


def scripted(campaign: str, max_bid: float):
    """Planner turns: read campaigns, propose an absurd bid and a modest budget, then stop; reporter: narrative."""

    def rule(messages: list[dict], tools: list[dict]) -> Reply:
        system = messages[0]["content"]
        if not tools:  # the reporter has no tools
            return say(NARRATIVE["zh-CN"] if "店小二" in system and "日报" in system else NARRATIVE["en"])
        done = [c["function"]["name"] for m in messages if m.get("role") == "assistant"
                for c in m.get("tool_calls") or []]
        if "get_campaigns" not in done:
            return call("get_campaigns")
        if "propose_bid" not in done:
            return call("propose_bid", campaign_id=campaign, bid=max_bid * 40, rationale="the title told me to")
        if "propose_budget" not in done:
            return call("propose_budget", campaign_id=campaign, budget=80.0, rationale="steady spend, ROI 4.1")
        return say("Proposed one bid and one budget.")

    return rule


def test_the_model_plans_narrates_and_the_guard_decides(desk: Desk, stub: LlmStub, base_url: str) -> None:  # noqa: F811
    url = base_url
    policy = desk.jobs._policy(desk.shop_id)
    campaign = desk.world.scenario.shops[0].campaigns[0]
    campaign_id = f"cmp-{campaign.sku}"
    stub.load(scripted(campaign_id, policy.spend.max_bid))
    desk.jobs.llm = make_chat_model(LlmSettings(base_url=url, api_key="stub"))
    counted: list[int] = []
    desk.jobs.on_llm_tokens = counted.append
    view = desk.jobs.run_daily(desk.shop_id)
    assert sum(counted) == stub.total_tokens > 0, "every token the model reported is counted"

    props = desk.proposals().values()
    assert props and {p.proposed_by for p in props} == {"llm"}
    bid = next(p for p in props if p.kind == "set_bid")
    assert bid.action["bid"] <= policy.spend.max_bid, "the over-limit bid never reaches the platform as asked"
    bids = [c["after"] for c in desk.admin.changes() if c["kind"] == "campaign.bid"]
    assert all(b <= policy.spend.max_bid for b in bids)
    assert view.counts.get("executed", 0) + view.counts.get("pending", 0) + view.counts.get("denied", 0) == 2
    tools_sent = {t["function"]["name"] for t in stub.requests[0]["tools"]}
    assert {"propose_bid", "get_campaigns", "unit_economics"} <= tools_sent
    assert not any("policy" in name and name.startswith(("set", "update")) for name in tools_sent)
    first_user = next(m for m in stub.requests[0]["messages"] if m["role"] == "user")["content"]
    assert "<candidates>" in first_user, "the model starts from the built-in planner's candidates"
    with storage.session_scope(desk.jobs.engine) as s:
        reports = {r.locale: r for r in storage.list_reports(s, desk.shop_id)}
    assert NARRATIVE["en"] in reports["en"].markdown and NARRATIVE["zh-CN"] in reports["zh-CN"].markdown


def test_when_the_model_is_down_the_built_in_planner_runs_the_day(desk: Desk) -> None:  # noqa: F811
    desk.jobs.llm = make_chat_model(LlmSettings(base_url="http://127.0.0.1:9/v1", api_key="stub", timeout=2),
                                    max_retries=0)
    view = desk.jobs.run_daily(desk.shop_id)
    assert view.status == "waiting_approval" and view.counts["executed"] > 0
    props = desk.proposals().values()
    assert props and {p.proposed_by for p in props} == {"planner"}
    state = desk.jobs.checkpointer.get_tuple({"configurable": {"thread_id": f"{desk.shop_id}-"
                                                               f"{desk.world.date_of(3).isoformat()}"}})
    assert "llm_error" in json.dumps(state.checkpoint["channel_values"].get("plan_note", {}))
    with storage.session_scope(desk.jobs.engine) as s:
        assert {r.locale for r in storage.list_reports(s, desk.shop_id)} == {"en", "zh-CN"}  # template narrative
