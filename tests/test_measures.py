"""The measure registry (domain.md §2 "Measures")."""

from __future__ import annotations

import math

import pytest

from supervision.errors import ConfigError
from supervision.measures import default_registry, load_registry


def test_default_registry_matches_the_spec_table() -> None:
    """Every row of domain.md §2's measure table, transcribed by hand."""
    reg = default_registry()
    expected = {
        # key: (min, max, better, threshold, reliable change)
        "srs": (0, 40, "higher", 36, None),
        "wai_sr": (12, 60, "higher", None, None),
        "ors": (0, 40, "higher", 25, 5),
        "phq9": (0, 27, "lower", 10, 6),
        "gad7": (0, 21, "lower", 8, 4),
        "core10": (0, 40, "lower", 11, 6),
        "oq45": (0, 180, "lower", 64, 14),
    }
    assert list(reg) == list(expected)
    for key, (lo, hi, better, threshold, rc) in expected.items():
        m = reg[key]
        assert (m.min, m.max, m.better) == (lo, hi, better)
        got_threshold = m.concern_below if m.kind == "alliance" else m.clinical_cutoff
        assert got_threshold == threshold
        assert m.reliable_change == rc
    assert reg["srs"].drop_threshold == 5
    assert reg["wai_sr"].drop_threshold == 6
    assert reg["srs"].items == ("srs_relationship", "srs_goals", "srs_approach", "srs_overall")


def test_clinical_range_direction() -> None:
    """PHQ-9 caseness at 10 and above; ORS clinical below 25."""
    reg = default_registry()
    assert reg["phq9"].is_clinical(10, 10) and not reg["phq9"].is_clinical(9, 10)
    assert reg["ors"].is_clinical(24.9, 25) and not reg["ors"].is_clinical(25, 25)


def test_practice_overrides_keep_other_keys(tmp_path) -> None:
    """Dutch OQ-45 norms (domain.md §2): clinical at 56, reliable change 18."""
    f = tmp_path / "nl.toml"
    f.write_text("[oq45]\nclinical_cutoff = 56\nreliable_change = 18\n", encoding="utf-8")
    reg = load_registry(f)
    assert reg["oq45"].clinical_cutoff == 56 and reg["oq45"].reliable_change == 18
    assert reg["oq45"].max == 180 and reg["oq45"].better == "lower"
    assert reg["phq9"].clinical_cutoff == 10


def test_jacobson_truax_from_reliability() -> None:
    """validation/README.md, HAM-D: SD_pre 3.34, r = .80 -> S_diff = √2·3.34·√0.2 = 2.112;
    functional mean 8, SD 8, clinical mean 24.85, SD 3.34 ->
    c = (3.34·8 + 8·24.85) / (3.34 + 8) = 225.52 / 11.34 = 19.887."""
    reg = default_registry().extended(
        {"hamd": {"kind": "outcome", "min": 0, "max": 52, "better": "lower",
                  "reliability": 0.80, "functional_mean": 8, "functional_sd": 8}}
    )
    m = reg["hamd"]
    assert m.s_diff(3.34) == pytest.approx(2.112, abs=5e-4)
    assert m.cutoff(24.85, 3.34) == pytest.approx(19.887, abs=5e-4)
    assert m.s_diff(None) is None


def test_bdi_reliable_change_points() -> None:
    """validation/README.md, BDI-II: r = .801, SD_clin 8.16 -> 1.96 · S_diff = 10.09 points."""
    reg = default_registry().extended(
        {"bdi": {"kind": "outcome", "min": 0, "max": 63, "better": "lower", "reliability": 0.801}}
    )
    assert 1.96 * reg["bdi"].s_diff(8.16) == pytest.approx(10.09, abs=5e-3)
    assert math.isclose(reg["bdi"].s_diff(8.16) or 0, math.sqrt(2) * 8.16 * math.sqrt(0.199))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[x]\nkind='outcome'\nmin=0\n", "needs"),
        ("[phq9]\nbetter='up'\n", "better must be"),
        ("[phq9]\nmin=30\n", "must be below max"),
        ("[phq9]\ncolour='red'\n", "unknown key"),
        ("[phq9]\nreliability=1.2\n", "reliability"),
        ("not toml ::", "not valid TOML"),
    ],
)
def test_bad_registry_files_say_what_is_wrong(tmp_path, text: str, fragment: str) -> None:
    f = tmp_path / "m.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=fragment):
        load_registry(f)


def test_unknown_measure_lists_known_ones() -> None:
    with pytest.raises(ConfigError, match="phq9"):
        default_registry()["hamd"]
