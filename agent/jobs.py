"""The agent's daily job as a service: start a shop's run, answer its approvals, expire what waited too long.

Used by `xiaoer run`, the API and the scheduler alike. Each run is a LangGraph thread in the
checkpointer and a row in storage; the graph records its proposals, the guard's verdicts, the
owner's answers and the platform's results in storage as it goes (idempotently, so a resumed run
records nothing twice), and the report is saved in both languages.

INTERFACE FIRST — implementation lands in the next commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine

from marketplace.client import PlatformClient

DecisionKind = Literal["approve", "reject", "edit"]


@dataclass(frozen=True)
class OwnerDecision:
    """The owner's answer to one pending proposal; `action` (a full action dict) only for `edit`."""

    decision: DecisionKind
    action: dict[str, Any] | None = None


@dataclass
class RunView:
    """What a caller needs to know about a run after starting or resuming it."""

    run_id: str
    shop_id: str
    date: str
    status: str  # running | waiting_approval | done | failed
    pending: list[str] = field(default_factory=list)  # proposal ids waiting for the owner
    counts: dict[str, int] = field(default_factory=dict)  # outcome status → how many


class DecisionError(ValueError):
    """A decision the owner cannot make: unknown proposal (of this shop), not pending, expired, bad edit.

    `field` names the offending part of the request (e.g. "decisions.<id>.action.bid"), `code` is
    one of not_found | not_pending | expired | invalid.
    """

    def __init__(self, message: str, *, field: str, code: str) -> None:
        super().__init__(message)
        self.field, self.code = field, code


@dataclass
class Jobs:
    """Runs for every shop in storage.

    engine: the app's database (SQLModel tables, see agent.storage).
    checkpointer: a LangGraph checkpointer (SqliteSaver / PostgresSaver) holding the run threads.
    platform: shop id → a PlatformClient for that shop (token and URL from the shop's settings).
    out_dir: when set, reports are also written there as files.
    now: the clock (tests move it).
    """

    engine: Engine
    checkpointer: Any
    platform: Callable[[str], PlatformClient]
    out_dir: Path | None = None
    now: Callable[[], datetime] | None = None
    llm: Any = None  # a chat model, or None for the deterministic planner and template narrative

    def run_daily(self, shop_id: str, *, actor: str = "scheduler") -> RunView:
        """Start the shop's run for the platform's current day and take it as far as it goes without the owner.

        Raises storage.RunExists when the shop already has a live run for that date (one run per
        shop per day), LookupError when the shop or its policy is missing.
        """
        raise NotImplementedError

    def decide(self, shop_id: str, decisions: dict[str, OwnerDecision], *, actor: str) -> list[RunView]:
        """Answer pending proposals of the shop (any of its runs) and resume the paused runs.

        All-or-nothing validation first (DecisionError); an edit is guarded again inside the run.
        """
        raise NotImplementedError

    def expire_due(self) -> list[str]:
        """Expire pending proposals past their expiry in every shop; resume their runs. Returns the ids."""
        raise NotImplementedError
