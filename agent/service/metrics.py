"""Prometheus metrics in the text exposition format: counts from the database, and the process's LLM token counter.

Written by hand (the format is a few lines) rather than pulling in prometheus_client.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from agent.service.fanout import RunQueue
from agent.storage import Proposal, Run

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_tokens_lock = threading.Lock()
_tokens = 0


def add_llm_tokens(n: int) -> None:
    """Count `n` more LLM tokens used by this process (chat, planner, report narrative)."""
    global _tokens
    if n < 0:
        raise ValueError(f"add_llm_tokens: n must be >= 0, got {n}")
    with _tokens_lock:
        _tokens += int(n)


def llm_tokens() -> int:
    """LLM tokens used by this process since it started."""
    with _tokens_lock:
        return _tokens


def render(engine: Engine, queue: RunQueue | None = None) -> str:
    """Every metric, in the Prometheus text format; with the run queue (XIAOER_QUEUE_URL), its jobs and workers too."""
    decision = Proposal.decision["decision"].as_string()  # type: ignore[index]  # the guard's verdict
    with Session(engine) as session:
        runs = session.exec(select(Run.status, func.count()).group_by(Run.status)).all()
        states = session.exec(select(Proposal.kind, Proposal.state, func.count())
                              .group_by(Proposal.kind, Proposal.state)).all()
        verdicts = session.exec(select(Proposal.kind, decision, func.count())
                                .where(col(Proposal.decision).is_not(None)).group_by(Proposal.kind, decision)).all()
    lines: list[str] = []
    _family(lines, "xiaoer_runs", "gauge", "Daily runs by status.",
            (({"status": s}, n) for s, n in runs))
    _family(lines, "xiaoer_proposals", "gauge", "Proposed actions by kind and state.",
            (({"kind": k, "state": s}, n) for k, s, n in states))
    _family(lines, "xiaoer_guard_decisions", "gauge", "Proposed actions by kind and the guard's decision.",
            (({"kind": k, "decision": d or "unknown"}, n) for k, d, n in verdicts))
    _family(lines, "xiaoer_llm_tokens_total", "counter", "LLM tokens used by this process.",
            [({}, llm_tokens())])
    if queue is not None:
        counts = queue.counts()
        _family(lines, "xiaoer_queue_jobs", "gauge", "Jobs on the run queue by state (failed ones are kept a while).",
                (({"state": state}, counts[state]) for state in ("queued", "started", "failed")))
        _family(lines, "xiaoer_queue_workers", "gauge", "`xiaoer worker` processes listening on the run queue.",
                [({}, counts["workers"])])
        _family(lines, "xiaoer_worker_llm_tokens_total", "counter", "LLM tokens used by the runs of every worker.",
                [({}, queue.llm_tokens())])
    return "\n".join(lines) + "\n"


def _family(lines: list[str], name: str, kind: str, help_text: str,
            samples: Iterable[tuple[dict[str, str], int | float]]) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        lines.append(f"{name}{_labels(labels)} {value}")


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in sorted(labels.items())) + "}"


def _escape(value: str) -> str:
    """The format's escapes for a label value: backslash, double quote, newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
