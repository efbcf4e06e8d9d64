"""The caseload's one cache (:mod:`supervision.windowcache`): typed keys, its eviction rule,
and the keys a prepared file writes as JSON and reads back."""

from __future__ import annotations

import datetime as dt

import pytest

from supervision.windowcache import (
    PracticeAggregates,
    RuptureCandidates,
    ScopeRow,
    TherapistHeadlines,
    WindowCache,
    key_from_json,
    key_to_json,
)


def test_a_key_must_be_a_frozen_dataclass_instance() -> None:
    cache = WindowCache()
    for bad in ("scope_row", ("prepared", "x"), ScopeRow):
        with pytest.raises(TypeError, match="frozen dataclass"):
            cache.get(bad, lambda: 1)
    with pytest.raises(ValueError, match="not figures"):
        ScopeRow("headline")


def test_built_once_and_peek_never_builds() -> None:
    cache, calls = WindowCache(), []
    assert cache.peek(ScopeRow("figures")) is None
    assert cache.get(ScopeRow("figures"), lambda: calls.append(1) or {"a": 1}) == {"a": 1}
    assert cache.get(ScopeRow("figures"), lambda: calls.append(1) or {}) == {"a": 1}
    assert calls == [1] and list(cache) == [ScopeRow("figures")]


def test_recent_keeps_the_most_recently_used_of_its_class_only() -> None:
    """keep=2 over keys P(1), P(2), P(3) of one class: P(2), P(3) stay; using P(2) again makes
    it the newest; a key of another class is never let go by them."""
    d = [dt.date(2024, 1, i) for i in range(1, 4)]
    cache = WindowCache()
    cache.get(ScopeRow("ruptures"), lambda: 0)
    for day in d:
        cache.recent(PracticeAggregates(None, day), lambda: 0, keep=2)
    assert list(cache) == [ScopeRow("ruptures"), PracticeAggregates(None, d[1]),
                           PracticeAggregates(None, d[2])]
    cache.recent(PracticeAggregates(None, d[1]), lambda: 9, keep=2)
    assert list(cache)[-1] == PracticeAggregates(None, d[1])
    assert cache.peek(PracticeAggregates(None, d[1])) == 0  # found, not rebuilt


@pytest.mark.parametrize("key", [
    RuptureCandidates((("srs", 5.0), ("wai_sr", 6))),
    PracticeAggregates(dt.date(2024, 1, 1), None),
    TherapistHeadlines(None, dt.date(2024, 3, 31), "srs", None),
])
def test_saved_keys_survive_json(key: object) -> None:
    import json

    assert key_from_json(json.loads(json.dumps(key_to_json(key)))) == key


def test_only_saved_kinds_are_written() -> None:
    with pytest.raises(TypeError, match="not saved"):
        key_to_json(ScopeRow("figures"))
