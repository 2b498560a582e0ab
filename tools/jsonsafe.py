"""JSON has no infinity or NaN: the one rule for turning them into null, shared by storage and the tools."""

from __future__ import annotations

import math
from typing import Any


def finite(value: Any) -> Any:
    """`value` with every infinite or NaN float, at any depth of dicts, lists and tuples, made None (null).

    An infinite number is meaningful here (the lowest ROI a SKU that cannot keep the margin floor would need; the
    percent change of a bid raised from zero), but PostgreSQL refuses `Infinity` in JSON, SQLite stores it as text
    that later breaks the API's answers, and a model reads it as a string; null is what JavaScript's
    JSON.stringify writes, and the words beside such a number say what it meant.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value
