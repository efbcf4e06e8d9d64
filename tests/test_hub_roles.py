"""The roles file of `supervision hub` (domain §13): what it accepts, and errors that say
file, user, key and what was expected.  The hub itself runs in tests/e2e/test_hub.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from supervision import opening
from supervision.errors import ConfigError
from supervision.hub import Person, plan, read_roles, resolve
from supervision.io import load_export

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


def _roles(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "roles.toml"
    p.write_text(text)
    return p


def test_the_example_roles_file_reads() -> None:
    people = read_roles(Path(__file__).resolve().parents[1] / "docs" / "roles.example.toml")
    assert people["ana"] == Person("ana", "therapist", therapist="T01",
                                   login="ana.silva@example-practice.org")
    assert people["carla"].therapists == ("T01", "T02", "T03")
    assert people["dev"].team == "North" and people["lee"].role == "lead"


@pytest.mark.parametrize("text, expected", [
    ('[users.ana]\nrole = "boss"\n', r"\[users.ana\]: role must be one of 'therapist'"),
    ('[users.ana]\nrole = "therapist"\n', r'\[users.ana\]: a therapist needs therapist = "ID"'),
    ('[users.sam]\nrole = "supervisor"\n', r"\[users.sam\]: a supervisor needs exactly one of"),
    ('[users.sam]\nrole = "supervisor"\ntherapists = "T01"\n',
     r"\[users.sam\]: therapists must be a non-empty list"),
    ('[users.lee]\nrole = "lead"\nteam = "North"\n',
     r"\[users.lee\]: a lead takes only role, login; remove team"),
    ('[users."Ana B"]\nrole = "lead"\n', r"the user name must be lower-case"),
    ("[people]\n", r"(?s)unknown section people.*no users"),
    ("[users\n", r"not valid TOML at line 1"),
])
def test_a_bad_roles_file_says_where_and_what(tmp_path: Path, text: str, expected: str) -> None:
    path = _roles(tmp_path, text)
    with pytest.raises(ConfigError, match=rf"--roles {path}:") as err:
        read_roles(path)
    assert err.match(expected)


def test_a_missing_roles_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="roles file not found"):
        read_roles(tmp_path / "nope.toml")


def test_ids_and_teams_are_checked_against_the_export(tmp_path: Path) -> None:
    full = load_export(DEMO, progress=False)
    people = read_roles(_roles(tmp_path, '[users.x]\nrole = "therapist"\ntherapist = "T99"\n'
                                         '[users.y]\nrole = "supervisor"\nteam = "East"\n'))
    with pytest.raises(ConfigError, match=r"(?s)2 problems.*T99 not in the export.*'East' not in"):
        resolve(people, full, "r.toml")


def test_plan_writes_each_role_only_what_it_may_open(tmp_path: Path) -> None:
    full = load_export(DEMO, progress=False)
    people = resolve(read_roles(_roles(tmp_path, (
        '[users.ana]\nrole = "therapist"\ntherapist = "T01"\n'
        '[users.dev]\nrole = "supervisor"\nteam = "North"\n'
        '[users.lee]\nrole = "lead"\n'))), full, "r.toml")
    spec = plan(full, people, tmp_path / "w", min_cell=5)
    ana, dev, lee = (spec["users"][n] for n in ("ana", "dev", "lee"))
    assert sorted(p.name for p in Path(ana["root"]).iterdir()) == ["therapist.ipynb"]
    assert sorted(p.name for p in Path(dev["root"]).iterdir()) == ["supervisor.ipynb"]
    assert sorted(p.name for p in Path(lee["root"]).iterdir()) == [
        "practice_review.ipynb", "supervisor.ipynb"]
    assert opening.PREPARED not in ana["env"] and ana["env"][opening.THERAPIST] == "T01"
    north = full.therapists.filter(full.therapists.team == "North").execute()["therapist_id"]
    assert dev["env"][opening.ALLOWED].split(",") == sorted(north)
    assert opening.ALLOWED not in lee["env"]
    for user in spec["users"].values():
        assert str(DEMO) not in str(user) and opening.EXPORT not in user["env"]
