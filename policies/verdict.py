"""The guard's answer: allow, needs approval or deny, with the limit that decided and its numbers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from policies.actions import Action
from policies.messages import render


class Decision(StrEnum):
    ALLOW = "allow"  # executes now
    NEEDS_APPROVAL = "needs_approval"  # queued for the owner
    DENY = "deny"  # never executes; only a policy change can let it through


@dataclass(frozen=True)
class Verdict:
    """What the guard decided about one action, and why.

    `limit` is the stable code of the deciding limit: the policy field's dotted path
    ("spend.daily_cap") or "action.target" for an action aimed at nothing. `rule` says which
    reading of the limit decided when there are several ("full_month" for a monthly cap that a
    whole month at the standing budgets would break). `numbers` are the figures behind the
    decision, keyed as the message templates expect.
    """

    decision: Decision
    limit: str
    rule: str = ""
    numbers: Mapping[str, float | str] = field(default_factory=dict)
    proposer: Callable[[], Action | None] | None = field(default=None, compare=False, repr=False)

    @cached_property
    def alternative(self) -> Action | None:
        """For a deny, an action the hard limits accept in its place (the largest bid allowed, say).

        Worked out on first use, from the same inputs as the verdict. The guard never applies
        it: it is a proposal like any other and goes through `check` before it runs.
        """
        return self.proposer() if self.proposer is not None else None

    @property
    def key(self) -> str:
        """The message template key: `limit`, or `limit/rule`."""
        return f"{self.limit}/{self.rule}" if self.rule else self.limit

    @property
    def message(self) -> str:
        """The reason in English, with its numbers."""
        return render(self.key, self.numbers, "en")

    def text(self, locale: str = "en") -> str:
        """The reason in `locale` ("en" or "zh-CN"; anything else falls back to English)."""
        return render(self.key, self.numbers, locale)

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW

    @property
    def denied(self) -> bool:
        return self.decision is Decision.DENY

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: decision, limit, rule, numbers, the message in both locales, the alternative."""
        alt = self.alternative
        return {
            "decision": self.decision.value, "limit": self.limit, "rule": self.rule, "numbers": dict(self.numbers),
            "message": self.message, "message_zh": self.text("zh-CN"),
            "alternative": alt.model_dump(mode="json") if alt is not None else None,
        }
