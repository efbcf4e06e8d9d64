"""The roles file of ``supervision hub`` (domain §13): who may sign in, and to what.

``[users.NAME]`` names every person; ``role`` is ``therapist`` (``therapist = "T07"``),
``supervisor`` (``therapists = [...]`` or ``team = "..."``) or ``lead``.  Any entry may add
``login = "..."``: the value of the identity provider's claim (``--oidc-claim``, e.g. their
e-mail address) that signs in as NAME; without it the claim must equal NAME.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supervision.errors import ConfigError
from supervision.tomlfile import read_toml_text, toml_problem

if TYPE_CHECKING:
    from supervision.caseload import Caseload

ROLES = ("therapist", "supervisor", "lead")
#: The keys each role takes in ``[users.NAME]`` (``login`` is optional for every role).
KEYS = {"therapist": ("role", "therapist", "login"),
        "supervisor": ("role", "therapists", "team", "login"),
        "lead": ("role", "login")}
#: JupyterHub user names: lower case, no spaces (what people type, and the /user/NAME/ URL).
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Person:
    """One ``[users.NAME]`` entry; ``therapists`` resolved against the export."""

    name: str
    role: str
    therapist: str | None = None
    therapists: tuple[str, ...] | None = None
    team: str | None = None
    login: str | None = None


# ------------------------------------------------------------------ the roles file
def read_roles(path: str | Path) -> dict[str, Person]:
    """Every ``[users.NAME]`` of the roles file, checked; every problem in one message."""
    p = Path(path)
    text, why = read_toml_text(p, "roles file")
    if text is None:
        raise ConfigError(f"--roles {p}: {why}")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--roles {p}: {toml_problem(exc)}") from None
    problems: list[str] = []
    extra = sorted(set(doc) - {"users"})
    if extra:
        problems.append(f"unknown section{'s' if len(extra) > 1 else ''} {', '.join(extra)}: "
                        "only [users.NAME] tables are read")
    users = doc.get("users")
    if not isinstance(users, dict) or not users:
        problems.append('no users: add one [users.NAME] table per person, e.g. [users.ana] '
                        'with role = "therapist" and therapist = "T01"')
        users = {}
    people = {}
    for name, entry in users.items():
        person = _person(name, entry, problems)
        if person is not None:
            people[name] = person
    problems += _shared_logins(people)
    if problems:
        raise ConfigError(f"--roles {p}: {len(problems)} problem{'s' if len(problems) > 1 else ''}"
                          ":\n  " + "\n  ".join(problems))
    return people


def _person(name: str, entry: Any, problems: list[str]) -> Person | None:
    where = f"[users.{name}]"
    if not NAME.match(name):
        problems.append(f"{where}: the user name must be lower-case letters, digits, '.', '_' "
                        "or '-' (what people type to log in)")
        return None
    if not isinstance(entry, dict):
        problems.append(f"{where} must be a table with a role")
        return None
    role = entry.get("role")
    if role not in ROLES:
        problems.append(f"{where}: role must be one of {', '.join(map(repr, ROLES))} "
                        f"(got {role!r})")
        return None
    unknown = sorted(set(entry) - set(KEYS[role]))
    if unknown:
        problems.append(f"{where}: a {role} takes only {', '.join(KEYS[role])}; remove "
                        f"{', '.join(unknown)}")
    login = entry.get("login")
    if login is not None and (not isinstance(login, str) or not login.strip()):
        problems.append(f'{where}: login must be the identity provider\'s value in quotes, '
                        f'e.g. login = "ana@example-practice.org" (got {login!r})')
        return None
    person = _role(name, role, entry, problems)
    if person is None or login is None:
        return person
    return replace(person, login=fold_login(login))


def _shared_logins(people: dict[str, Person]) -> list[str]:
    seen: dict[str, str] = {}
    out = []
    for p in people.values():
        key = p.login or fold_login(p.name)
        if key in seen:
            out.append(f"[users.{p.name}]: signs in with the same login as [users.{seen[key]}]"
                       " (each login belongs to one person)")
        seen.setdefault(key, p.name)
    return out


def fold_login(value: str) -> str:
    """A claim value as compared: NFKC, case-folded, no surrounding spaces."""
    return unicodedata.normalize("NFKC", value).strip().casefold()


def login_index(people: dict[str, Person]) -> dict[str, str]:
    """Folded claim value -> user name: ``login`` where given, else the name itself."""
    return {p.login or fold_login(p.name): p.name for p in people.values()}


def _role(name: str, role: str, entry: dict, problems: list[str]) -> Person | None:
    where = f"[users.{name}]"
    if role == "therapist":
        tid = entry.get("therapist")
        if not isinstance(tid, str) or not tid.strip():
            problems.append(f'{where}: a therapist needs therapist = "ID" (their therapist_id)')
            return None
        return Person(name, role, therapist=tid.strip())
    if role == "supervisor":
        ids, team = entry.get("therapists"), entry.get("team")
        if (ids is None) == (team is None):
            problems.append(f'{where}: a supervisor needs exactly one of therapists = ["T01", '
                            '...] and team = "NAME"')
            return None
        if ids is not None and (not isinstance(ids, list) or not ids
                                or not all(isinstance(t, str) and t.strip() for t in ids)):
            problems.append(f"{where}: therapists must be a non-empty list of therapist ids "
                            f"in quotes (got {ids!r})")
            return None
        if team is not None and (not isinstance(team, str) or not team.strip()):
            problems.append(f"{where}: team must be a team name in quotes (got {team!r})")
            return None
        return Person(name, role, therapists=tuple(t.strip() for t in ids) if ids else None,
                      team=team.strip() if team else None)
    return Person(name, role)


def resolve(people: dict[str, Person], full: Caseload, where: str) -> dict[str, Person]:
    """Check every therapist id and team against the export; a team becomes its therapists."""
    ids = set(full.therapist_ids())
    teams_df = full.therapists.select("therapist_id", "team").execute()
    teams: dict[str, list[str]] = {}
    for tid, team in zip(teams_df["therapist_id"], teams_df["team"], strict=True):
        if isinstance(team, str) and team:
            teams.setdefault(team, []).append(tid)
    problems, out = [], {}
    for name, p in people.items():
        asked = [p.therapist] if p.therapist else list(p.therapists or ())
        missing = [t for t in asked if t not in ids]
        if missing:
            problems.append(f"[users.{name}]: therapist id{'s' if len(missing) > 1 else ''} "
                            f"{', '.join(missing)} not in the export (it has "
                            f"{', '.join(sorted(ids)[:20])}{' …' if len(ids) > 20 else ''})")
        if p.team is not None and p.team not in teams:
            problems.append(f"[users.{name}]: team {p.team!r} not in the export (its teams: "
                            f"{', '.join(sorted(teams)) or 'none'})")
            continue
        if p.team is not None:
            p = replace(p, therapists=tuple(sorted(teams[p.team])))
        out[name] = p
    if problems:
        raise ConfigError(f"--roles {where}: {len(problems)} problem"
                          f"{'s' if len(problems) > 1 else ''}:\n  " + "\n  ".join(problems))
    return out


