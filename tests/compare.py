"""Comparing metric results whose floats may differ in the last bits.

DuckDB sums in parallel, so the same figure computed twice (or from two copies of the same
tables) can differ by an ulp or so: compare floats to 1e-9, everything else exactly.
"""

from __future__ import annotations

import math
from typing import Any


def nested_close(a: Any, b: Any, *, rel: float = 1e-9, path: str = "") -> list[str]:
    """Paths where nested dicts / lists / numbers ``a`` and ``b`` differ (empty: equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return [f"{path}: keys {list(a)} != {list(b)}"]
        return [d for k in a for d in nested_close(a[k], b[k], rel=rel, path=f"{path}.{k}")]
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True))
                for d in nested_close(x, y, rel=rel, path=f"{path}[{i}]")]
    numbers = (int, float)
    if (isinstance(a, numbers) and isinstance(b, numbers)
            and not isinstance(a, bool) and not isinstance(b, bool)):
        return [] if math.isclose(a, b, rel_tol=rel, abs_tol=rel) else [f"{path}: {a} != {b}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]
