"""The owner's answers to the approval queue, said in chat: "approve 1 and 3", "reject all", "批准第2个".

Read from the owner's own message only, before any model sees it: no tool lets a model approve
anything, so text in platform data or a model's reply can never answer the queue. The numbers
are the queue's order, as "what is pending?" lists it; a proposal id works as well. An approval
goes through the same `Jobs.decide` as the page's button: the guard checks the action again,
and only then does the run execute it.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from agent.chat_commands import ALL, Unclear, describe, is_question
from agent.chat_i18n import t
from agent.i18n import Locale

Answer = Literal["approve", "reject"]

_I = re.IGNORECASE
# Rejections first: "不同意" holds "同意".
VERBS: tuple[tuple[Answer, re.Pattern[str]], ...] = (
    ("reject", re.compile(r"\b(reject|decline|refuse|deny)\b|拒绝|驳回|不同意|不批准|否决", _I)),
    ("approve", re.compile(r"\b(approve|accept|confirm)\b|批准|同意|通过|确认执行", _I)),
)
NUMBER = re.compile(r"(?<![\d.])(\d{1,3})(?![\d.])")
CLAUSES = re.compile(r"[,，;；。、]|\band\b|\bbut\b|\bthen\b|但是?|然后|并且|和|及")
ID_CHARS = 6  # the shortest start of a proposal id that may name it


def read_decisions(text: str, pending: list[dict[str, Any]]) -> dict[str, Answer] | Unclear | None:
    """The owner's answers by proposal id, what is unclear about them, or None when `text` answers nothing."""
    if is_question(text) or not any(p.search(text) for _, p in VERBS):
        return None
    if not pending:
        return Unclear("decide.none_pending")
    clauses = []  # (its verb or None, the proposals it names)
    for clause in CLAUSES.split(text):
        named = _named(clause, pending)
        if isinstance(named, Unclear):
            return named
        clauses.append((next((v for v, p in VERBS if p.search(clause)), None), named))
    verbs = [v for v, _ in clauses if v is not None]
    if not verbs:
        return None
    answers: dict[str, Answer] = {}
    for k, (own, named) in enumerate(clauses):
        # A clause without a verb takes the one before it ("approve 1, 3"), else the next ("1 和 3 都批准").
        before = [v for v, _ in clauses[:k] if v is not None]
        after = [v for v, _ in clauses[k + 1:] if v is not None]
        verb = own or (before[-1] if before else after[0])
        answers.update({pid: verb for pid in named})
    if answers:
        return answers
    if not _only_an_answer(text):
        return None  # "I approve of the new report": talk, not an answer to the queue
    if len(set(verbs)) == 1 and (len(pending) == 1 or ALL.search(text) or "都" in text):
        return {p["id"]: verbs[0] for p in pending}
    return Unclear("decide.which", {"count": str(len(pending))})


FILLER = re.compile(r"\b(please|pls|ok|okay|yes|it|this|that|them|those|these|everything|the|one|ones|all|every|"
                    r"each|go|ahead)\b|请|吧|了|这个|那个|这些|那些|它|都|全部|所有|全都|每个|好的|好|可以|嗯", _I)


def _only_an_answer(text: str) -> bool:
    """Without a number or id, only a bare answer counts ("approve", "全部批准", "ok, reject them all")."""
    rest = text
    for _, pattern in VERBS:  # rejections first, so nothing of "不同意" is left
        rest = pattern.sub(" ", rest)
    return not re.search(r"[A-Za-z\u3400-\u9fff]", FILLER.sub(" ", rest))


def _named(clause: str, pending: list[dict[str, Any]]) -> list[str] | Unclear:
    """The proposals a clause names: by id (or its first characters), else by their number in the queue."""
    ids = [p["id"] for p in pending]
    words = re.findall(rf"[A-Za-z0-9_-]{{{ID_CHARS},}}", clause)
    by_id = [pid for pid in ids if any(pid.lower().startswith(w.lower()) for w in words if not w.isdigit())]
    if by_id:
        return by_id
    named = []
    for m in NUMBER.finditer(clause):
        n = int(m.group(1))
        if not 1 <= n <= len(pending):
            return Unclear("decide.no_such", {"n": str(n), "count": str(len(pending))})
        named.append(ids[n - 1])
    return named


def outcome_lines(answers: dict[str, Answer], after: list[dict[str, Any]], pending: list[dict[str, Any]],
                  locale: Locale) -> list[str]:
    """What became of each answered proposal: done on the platform, failed (and why), or rejected."""
    number = {p["id"]: n for n, p in enumerate(pending, start=1)}
    rows = {p["id"]: p for p in after}
    lines = []
    for pid, answer in answers.items():
        row = rows.get(pid) or {}
        what = f"#{number.get(pid, '?')} " + describe(row.get("action") or _action_of(pid, pending), locale)
        state = row.get("state")
        if answer == "reject":
            lines.append(t("decide.rejected", locale, what=what))
        elif state == "executed":
            lines.append(t("decide.executed", locale, what=what))
        elif state == "failed":
            lines.append(t("decide.failed", locale, what=what, why=_why_failed(row, locale)))
        else:
            lines.append(t("decide.approved", locale, what=what, state=state or "—"))
    return lines


def _action_of(pid: str, pending: list[dict[str, Any]]) -> dict[str, Any]:
    return next(p["action"] for p in pending if p["id"] == pid)


def _why_failed(row: dict[str, Any], locale: Locale) -> str:
    """The guard's second look or the platform's error, as the proposal's result keeps it."""
    result = row.get("result") or {}
    verdict = result.get("verdict") or {}
    said = verdict.get("message_zh") if locale == "zh-CN" else verdict.get("message")
    return str(said or result.get("error") or "—")
