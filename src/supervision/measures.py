"""The measure registry: ranges, direction, thresholds and reliable change.

The defaults live in ``measures.toml`` beside this module (domain.md §2).  A
practice extends or overrides them with a TOML file of the same shape; an entry
in that file replaces the keys it names and keeps the rest.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from supervision.errors import ConfigError
from supervision.tomlfile import read_toml_text, toml_problem

Kind = Literal["alliance", "outcome"]
Direction = Literal["higher", "lower"]

_KEYS = {
    "name", "kind", "min", "max", "better", "concern_below", "drop_threshold", "items",
    "subscales", "item_min", "item_max", "clinical_cutoff", "reliable_change", "reliability",
    "norm_sd", "functional_mean", "functional_sd", "clinical_mean", "clinical_sd",
    "sudden_gain_cutoff", "critical_item", "critical_max",
}


@dataclass(frozen=True)
class Measure:
    """One measure of the registry.  See ``measures.toml`` for the meaning of each field."""

    key: str
    name: str
    kind: Kind
    min: float
    max: float
    better: Direction
    concern_below: float | None = None
    drop_threshold: float | None = None
    items: tuple[str, ...] = ()
    subscales: tuple[str, ...] = ()
    item_min: float | None = None
    item_max: float | None = None
    clinical_cutoff: float | None = None
    reliable_change: float | None = None
    reliability: float | None = None
    norm_sd: float | None = None
    functional_mean: float | None = None
    functional_sd: float | None = None
    clinical_mean: float | None = None
    clinical_sd: float | None = None
    sudden_gain_cutoff: float | None = None
    critical_item: str | None = None
    critical_max: float | None = None

    @property
    def critical_columns(self) -> tuple[str, ...]:
        """The measure's critical item column (PHQ-9 item 9, ``phq9_item9``), if it has one."""
        return () if self.critical_item is None else (self.critical_item,)

    @property
    def part_columns(self) -> tuple[str, ...]:
        """Item and subscale columns that belong to this measure."""
        return self.items + self.subscales

    def s_diff(self, sample_pre_sd: float | None = None) -> float | None:
        """Standard error of the difference, Jacobson & Truax (1991).

        ``S_diff = sqrt(2) * SD_pre * sqrt(1 - r)`` with ``SD_pre`` the norm SD when
        given, else ``sample_pre_sd``.  ``None`` when the measure has no reliability.
        """
        if self.reliability is None:
            return None
        sd = self.norm_sd if self.norm_sd is not None else sample_pre_sd
        if sd is None:
            return None
        return math.sqrt(2.0) * sd * math.sqrt(1.0 - self.reliability)

    def cutoff(
        self, sample_pre_mean: float | None = None, sample_pre_sd: float | None = None
    ) -> float | None:
        """The clinical cut-off: fixed, or Jacobson–Truax *c* from functional norms.

        ``c = (SD_clin * M_func + SD_func * M_clin) / (SD_clin + SD_func)`` (Jacobson &
        Truax 1991), with the clinical mean / SD given or else the sample's pre-treatment ones.
        """
        if self.clinical_cutoff is not None:
            return self.clinical_cutoff
        if self.functional_mean is None or self.functional_sd is None:
            return None
        m_clin = self.clinical_mean if self.clinical_mean is not None else sample_pre_mean
        sd_clin = self.clinical_sd if self.clinical_sd is not None else sample_pre_sd
        if m_clin is None or sd_clin is None:
            return None
        return (sd_clin * self.functional_mean + self.functional_sd * m_clin) / (
            sd_clin + self.functional_sd
        )

    def is_clinical(self, score: float, cutoff: float) -> bool:
        """Whether a score lies in the clinical range.

        ``better = "lower"``: clinical when ``score >= cutoff`` (PHQ-9 caseness at 10 and above);
        ``better = "higher"``: clinical when ``score < cutoff`` (ORS below 25).
        """
        return score >= cutoff if self.better == "lower" else score < cutoff


PAIRED = "phq9_gad7"
"""The key of NHS Talking Therapies' paired PHQ-9 + GAD-7 rule (an outcome of two measures)."""


@dataclass(frozen=True)
class Registry(Mapping[str, Measure]):
    """An ordered, immutable mapping of measure key to :class:`Measure`."""

    measures: dict[str, Measure] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Measure:
        try:
            return self.measures[key]
        except KeyError:
            known = ", ".join(self.measures)
            raise ConfigError(f"unknown measure {key!r}; the registry has: {known}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.measures)

    def __len__(self) -> int:
        return len(self.measures)

    def __hash__(self) -> int:
        return hash(tuple(self.measures.items()))

    def of_kind(self, key: str, kind: str, *, present: list[str] | None = None) -> Measure:
        """The measure ``key``, which must be of ``kind`` (``"alliance"`` or ``"outcome"``).

        Raises
        ------
        ConfigError
            ``key`` is not in the registry or is of the other kind; the message names the
            measures of ``kind`` there are (and, given ``present``, those with data).
        """
        m = self.measures.get(key)
        if m is not None and m.kind == kind:
            return m
        what = (f"unknown measure {key!r}" if m is None
                else f"{key!r} is an {m.kind} measure, not an {kind} measure")
        known = ", ".join(x.key for x in self.measures.values() if x.kind == kind) or "none"
        seen = ""
        if present is not None:
            mine = [k for k in present if k in self.measures and self.measures[k].kind == kind]
            seen = f"; with scores in this export: {', '.join(mine) or 'none'}"
        raise ConfigError(
            f"{what}; the registry has {kind} measures: {known}{seen}. A measure of your own "
            "goes in a measure file (--measures FILE)."
        )

    def default_alliance(self, present: list[str]) -> str | None:
        """The alliance measure trends and headlines use: SRS if present, else WAI-SR, else
        the first alliance measure present (``present``: measure keys with data)."""
        al = [k for k in present if k in self.measures and self.measures[k].kind == "alliance"]
        for key in ("srs", "wai_sr", *al):
            if key in al:
                return key
        return None

    def default_outcome(self, present: list[str]) -> str | None:
        """The outcome of the headline: the PHQ-9 + GAD-7 paired rule (:data:`PAIRED`) when
        both are present, else the first outcome measure present."""
        if {"phq9", "gad7"} <= set(present):
            return PAIRED
        outs = [k for k in present if k in self.measures and self.measures[k].kind == "outcome"]
        return outs[0] if outs else None

    @property
    def alliance(self) -> list[Measure]:
        return [m for m in self.measures.values() if m.kind == "alliance"]

    @property
    def outcome(self) -> list[Measure]:
        return [m for m in self.measures.values() if m.kind == "outcome"]

    @property
    def numeric_columns(self) -> list[str]:
        """Every numeric session column the registry defines: totals, then items/subscales."""
        cols: list[str] = list(self.measures)
        for m in self.measures.values():
            cols += [c for c in m.part_columns if c not in cols]
        for m in self.measures.values():
            cols += [c for c in m.critical_columns if c not in cols]
        return cols

    @property
    def critical_items(self) -> dict[str, Measure]:
        """Critical item column -> its measure (``{"phq9_item9": phq9}``), domain.md §7."""
        return {c: m for m in self.measures.values() for c in m.critical_columns}

    def extended(self, overrides: Mapping[str, Mapping[str, Any]], *, source: str = "") -> Registry:
        """A new registry with ``overrides`` (parsed TOML) merged over this one."""
        merged = dict(self.measures)
        for key, entry in overrides.items():
            merged[key] = _measure(key, entry, base=merged.get(key), source=source)
        return Registry(merged)


def _measure(key: str, entry: Mapping[str, Any], *, base: Measure | None, source: str) -> Measure:
    where = f"{source}: [{key}]" if source else f"[{key}]"
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: expected a table of measure settings")
    unknown = set(entry) - _KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; known keys: {sorted(_KEYS)}")
    values: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in entry.items()}
    if base is not None:
        m = replace(base, **values)
    else:
        missing = {"kind", "min", "max", "better"} - set(values)
        if missing:
            raise ConfigError(f"{where}: a new measure needs {sorted(missing)}")
        values.setdefault("name", key)
        m = Measure(key=key, **values)
    _check(m, where)
    return m


#: Numeric settings, and whether each must be above 0 (else any finite number).
_NUMBERS = {
    "min": False, "max": False, "concern_below": False, "drop_threshold": True,
    "item_min": False, "item_max": False, "clinical_cutoff": False, "reliable_change": True,
    "reliability": False, "norm_sd": True, "functional_mean": False, "functional_sd": True,
    "clinical_mean": False, "clinical_sd": True, "sudden_gain_cutoff": True,
    "critical_max": True,
}


def _check_numbers(m: Measure, where: str) -> None:
    """Every numeric setting a finite number (not text, not a boolean, not nan or inf);
    thresholds, SDs and reliable change above 0; cut-offs inside the measure's range."""
    for key, positive in _NUMBERS.items():
        v = getattr(m, key)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ConfigError(f"{where}: {key} must be a number, not {v!r}")
        if positive and v <= 0:
            raise ConfigError(f"{where}: {key} must be above 0, not {v!r}")
    for key in ("concern_below", "clinical_cutoff"):
        v = getattr(m, key)
        if v is not None and m.min < m.max and not m.min <= v <= m.max:
            raise ConfigError(f"{where}: {key} ({v!r}) must lie within the measure's range "
                              f"{m.min!r}–{m.max!r}")
    if (m.item_min is None) != (m.item_max is None) or (
        m.item_min is not None and m.item_max is not None and not m.item_min < m.item_max
    ):
        raise ConfigError(f"{where}: item_min and item_max go together, item_min below item_max")
    if not isinstance(m.name, str) or not all(
        isinstance(part, tuple) and all(isinstance(c, str) for c in part)
        for part in (m.items, m.subscales)
    ):
        raise ConfigError(f"{where}: name must be text, and items and subscales lists of "
                          "column names")
    if (m.critical_item is None) != (m.critical_max is None) or not (
        m.critical_item is None or (isinstance(m.critical_item, str)
                                    and m.critical_item.isidentifier())
    ):
        raise ConfigError(f"{where}: critical_item (a column name such as 'phq9_item9') and "
                          "critical_max (its highest score) go together")


def _check(m: Measure, where: str) -> None:
    _check_numbers(m, where)
    if not m.key.isidentifier() or m.key != m.key.lower():
        raise ConfigError(f"{where}: a measure key must be a lower-case identifier such as 'hamd'")
    if m.kind not in ("alliance", "outcome"):
        raise ConfigError(f"{where}: kind must be 'alliance' or 'outcome', not {m.kind!r}")
    if m.better not in ("higher", "lower"):
        raise ConfigError(f"{where}: better must be 'higher' or 'lower', not {m.better!r}")
    if not m.min < m.max:
        raise ConfigError(f"{where}: min ({m.min}) must be below max ({m.max})")
    if m.reliability is not None and not 0 <= m.reliability < 1:
        raise ConfigError(f"{where}: reliability must lie in [0, 1), not {m.reliability}")
    if m.kind == "alliance" and m.drop_threshold is None:
        raise ConfigError(f"{where}: an alliance measure needs drop_threshold")


def default_registry() -> Registry:
    """The registry shipped in ``measures.toml``."""
    text = resources.files("supervision").joinpath("measures.toml").read_text(encoding="utf-8")
    return Registry().extended(tomllib.loads(text), source="measures.toml")


def load_registry(path: str | Path | None = None) -> Registry:
    """The default registry, extended by the practice's TOML file at ``path`` if given."""
    reg = default_registry()
    if path is None:
        return reg
    p = Path(path)
    text, why = read_toml_text(p, "measure file")
    if text is None:
        raise ConfigError(f"{p}: {why}")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: {toml_problem(exc)}") from None
    return reg.extended(data, source=p.name)


__all__ = ["Measure", "Registry", "default_registry", "load_registry"]
