"""Fault injection for the platform API, set by the admin: how real platforms fail.

Faults are drawn from one seeded generator, so a test that sets a plan sees the same faults
in the same order every run.
"""

from __future__ import annotations

import random
import threading
import time

from pydantic import BaseModel, ConfigDict, Field


class FaultPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    error_rate: float = Field(0.0, ge=0, le=1, description="Share of shop requests answered 503, nothing applied.")
    rate_limit_rate: float = Field(0.0, ge=0, le=1, description="Share answered 429 with Retry-After.")
    retry_after_s: float = Field(0.01, ge=0, le=60, description="Retry-After sent with a 429, seconds.")
    lost_response_rate: float = Field(
        0.0, ge=0, le=1, description="Share of writes applied whose response is lost (504 after applying)."
    )
    latency_ms: float = Field(0.0, ge=0, le=10_000, description="Added latency per shop request.")
    seed: int = 0


class Faults:
    """The active plan and its generator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.set(FaultPlan())

    def set(self, plan: FaultPlan) -> None:
        with self._lock:
            self.plan = plan
            self._rng = random.Random(plan.seed)
            self.injected: dict[str, int] = {"error": 0, "rate_limit": 0, "lost_response": 0}

    def _hit(self, rate: float, name: str) -> bool:
        with self._lock:
            hit = rate > 0 and self._rng.random() < rate
            if hit:
                self.injected[name] += 1
            return hit

    def before(self) -> tuple[int, dict[str, str]] | None:
        """A failure to answer instead of handling the request, or None."""
        if self.plan.latency_ms:
            time.sleep(self.plan.latency_ms / 1000)
        if self._hit(self.plan.error_rate, "error"):
            return 503, {}
        if self._hit(self.plan.rate_limit_rate, "rate_limit"):
            return 429, {"Retry-After": f"{self.plan.retry_after_s:g}"}
        return None

    def lose_response(self) -> bool:
        return self._hit(self.plan.lost_response_rate, "lost_response")
