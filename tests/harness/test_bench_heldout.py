"""bench/bench_heldout.py on a tiny run: a row per shop and policy, a summary that agrees with the rows."""

from __future__ import annotations

import json
from pathlib import Path

from bench.bench_heldout import GOOD_SHARE, TOLD_THE_END, ads_paused, main
from marketplace.generator import generate
from marketplace.strategies.base import strategy_names
from policies.domain import CampaignStatus


def test_heldout_bench_writes_rows_summary_table_and_chart(tmp_path: Path) -> None:
    out = {kind: tmp_path / f"heldout.{kind}" for kind in ("json", "md", "png")}
    main(["--shops", "2", "--skus", "4", "--days", "5", "--first-seed", "7", "--quiet",
          "--json", str(out["json"]), "--md", str(out["md"]), "--chart", str(out["png"])])

    data = json.loads(out["json"].read_text(encoding="utf-8"))
    policies = {"oracle", *strategy_names()}
    assert TOLD_THE_END not in policies  # the diagnostic runs only when asked for
    assert {(r["scenario"], r["policy"]) for r in data["rows"]} == {
        (f"generated-{seed}", p) for seed in (7, 8) for p in policies}
    assert len(data["rows"]) == 2 * len(policies)
    assert data["machine"]["cpus"] and data["seeds"] == [7, 8]
    agent = {r["scenario"]: r["profit"] for r in data["rows"] if r["policy"] == "agent"}
    for s in data["summary"]:
        runs = [r for r in data["rows"] if r["policy"] == s["policy"]]
        shares = [r["share_of_oracle"] for r in runs if r["share_of_oracle"] is not None]
        assert s["shops_at_85"] == sum(share >= GOOD_SHARE for share in shares)
        assert s["share_min"] == min(shares, default=None)
        assert s["outside_policy_per_shop"] == [r["outside_policy"] for r in runs]
        assert s["outside_policy"] == sum(s["outside_policy_per_shop"])
        if s["policy"] != "agent":
            assert s["agent_beats"] == sum(agent[r["scenario"]] > r["profit"] for r in runs)

    table = out["md"].read_text(encoding="utf-8")
    assert "| policy 策略 |" in table and "| generated-7 | 7 |" in table and "| generated-8 | 8 |" in table
    assert out["png"].read_bytes().startswith(b"\x89PNG") and out["png"].stat().st_size > 10_000


def test_told_the_end_adds_the_agent_with_its_plan_cut_at_the_runs_last_day(tmp_path: Path) -> None:
    out = tmp_path / "heldout.json"
    main(["--shops", "1", "--skus", "4", "--days", "5", "--first-seed", "7", "--quiet", "--told-the-end",
          "--json", str(out)])
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [r["policy"] for r in data["rows"]][-1] == TOLD_THE_END
    (told,) = [s for s in data["summary"] if s["policy"] == TOLD_THE_END]
    assert told["shops_with_share"] == 1 and told["outside_policy"] == 0


def test_no_ad_history_starts_every_campaign_paused_and_changes_nothing_else() -> None:
    scenario = generate(12, seed=2001)
    paused = ads_paused(scenario)
    before = [c for shop in scenario.shops for c in shop.campaigns]
    after = [c for shop in paused.shops for c in shop.campaigns]
    assert any(c.status == CampaignStatus.ACTIVE for c in before)
    assert all(c.status == CampaignStatus.PAUSED for c in after)
    assert [c.model_copy(update={"status": CampaignStatus.PAUSED}) for c in before] == after
    assert paused.model_copy(update={"shops": scenario.shops}) == scenario


def test_no_ad_history_is_recorded_with_the_run(tmp_path: Path) -> None:
    out = tmp_path / "heldout.json"
    main(["--shops", "1", "--skus", "4", "--days", "3", "--first-seed", "7", "--quiet", "--no-ad-history",
          "--json", str(out)])
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["no_ad_history"] is True
    (agent,) = [s for s in data["summary"] if s["policy"] == "agent"]
    assert agent["outside_policy"] == 0
