"""The owner answering the approval queue in chat: which proposals each message approves or rejects."""

from __future__ import annotations

import pytest

from agent.chat_commands import Unclear
from agent.chat_decisions import outcome_lines, read_decisions

PENDING = [{"id": f"{k}f3a9c0d1e2b4a5968778695a4b3c2d1", "action": {
    "kind": "set_bid", "sku": f"s{k}", "campaign_id": f"cmp-s{k}", "bid": 1.0 + k, "current_bid": 1.0}}
    for k in (1, 2, 3)]
P1, P2, P3 = (p["id"] for p in PENDING)


@pytest.mark.parametrize(("text", "expected"), [
    ("approve 1", {P1: "approve"}),
    ("Approve #2 and #3", {P2: "approve", P3: "approve"}),
    ("approve 1, 3", {P1: "approve", P3: "approve"}),
    ("approve 1 but reject 2", {P1: "approve", P2: "reject"}),
    ("reject all", {P1: "reject", P2: "reject", P3: "reject"}),
    ("批准第2个", {P2: "approve"}),
    ("1 和 3 都批准", {P1: "approve", P3: "approve"}),
    ("不同意第3个", {P3: "reject"}),
    ("全部批准", {P1: "approve", P2: "approve", P3: "approve"}),
    (f"approve {P2[:8]}", {P2: "approve"}),  # the start of an id names it too
    ("请批准第1个，拒绝第2个", {P1: "approve", P2: "reject"}),
])
def test_the_owners_words_answer_the_queue(text: str, expected: dict) -> None:
    assert read_decisions(text, PENDING) == expected


@pytest.mark.parametrize(("text", "key"), [
    ("approve", "decide.which"), ("批准", "decide.which"), ("approve 7", "decide.no_such"),
    ("approve 0", "decide.no_such"),
])
def test_an_answer_that_names_no_one_proposal_asks_which(text: str, key: str) -> None:
    got = read_decisions(text, PENDING)
    assert isinstance(got, Unclear) and got.key == key


@pytest.mark.parametrize("text", ["should I approve 1?", "what is pending?", "set a1's bid to 0.8",
                                  "要不要批准第1个？", "How did we do yesterday?"])
def test_a_question_or_anything_else_answers_nothing(text: str) -> None:
    assert read_decisions(text, PENDING) is None


def test_with_one_proposal_waiting_a_bare_approve_is_for_it_and_with_none_it_says_so() -> None:
    assert read_decisions("approve", PENDING[:1]) == {P1: "approve"}
    got = read_decisions("approve 1", [])
    assert isinstance(got, Unclear) and got.key == "decide.none_pending"


def test_the_answer_says_what_became_of_each() -> None:
    after = [{**PENDING[0], "state": "executed"},
             {**PENDING[1], "state": "failed", "result": {"verdict": {"message": "spend.max_bid: cap 2"}}},
             {**PENDING[2], "state": "rejected"}]
    lines = outcome_lines({P1: "approve", P2: "approve", P3: "reject"}, after, PENDING, "en")
    assert lines[0].startswith("Approved #1 Bid · s1 · cmp-s1: ¥1.00 → ¥2.00") and "done on the platform" in lines[0]
    assert "did not run: spend.max_bid: cap 2" in lines[1]
    assert lines[2].startswith("Rejected #3") and "will not run" in lines[2]
    zh = outcome_lines({P1: "approve"}, after[:1], PENDING, "zh-CN")
    assert zh[0].startswith("已批准 #1 出价") and "已在平台上执行" in zh[0]


@pytest.mark.parametrize(("text", "expected"), [
    ("approve", {P1: "approve"}), ("ok, approve it", {P1: "approve"}), ("好的，批准吧", {P1: "approve"}),
    ("I approve of the new report format", None), ("我同意你的分析", None),
])
def test_without_a_number_only_a_bare_answer_counts(text: str, expected: dict | None) -> None:
    assert read_decisions(text, PENDING[:1]) == expected
