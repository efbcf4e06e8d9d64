"""The identifier guard (domain.md §8): refuse exports that carry direct identifiers.

Two checks, run after the mapping's ``[drop]`` and before anything else is validated:

1. **Column names.**  A name is split into words (``FirstName``, ``first-name`` and
   ``first_name`` all give ``first``, ``name``) and refused when a word, or two or three
   adjacent words written together, is a direct-identifier word: ``name`` (so ``surname``,
   ``client_name``, ``Full Name``), ``email``/``e-mail``, ``phone``/``mobile``/``tel``,
   ``address``/``street``/``city``/``postcode``/``zip``, ``dob``/``date of birth``,
   ``nhs``, ``insurance``/``policy number``, ``mrn``/``medical record``/``record number``/
   ``patient number``, ``ssn``/``social security``, ``passport``.  Whole words only, so
   ``session_date``, ``start_date``, ``srs_relationship``, ``team``, ``termination``,
   ``rename`` or ``hotel`` pass.  ``username`` is refused: a login is usually built from a
   person's name.  Each kept column's *export* name is checked (a mapping cannot launder a
   ``Client Name`` column into ``client_id``; drop it instead).
2. **Values**, in SQL over the whole table: e-mail addresses and phone numbers (10–15
   digits, written with a leading ``+``/``0``/``(`` or with separators: ``+44 7700
   900123``, ``07700 900123``, ``(555) 123-4567``), also inside free text, in any column;
   and UK postcodes,
   NHS-number-shaped values (10 digits, optionally 3-3-4) or a bare date (``14/03/1987``,
   ``1987-03-14``: a date of birth used as an id) in id columns.  ISO dates have 8
   digits and scores a few, so they never look like phone numbers.

Every offending column is reported with the first row where it happens, never the value.
"""

from __future__ import annotations

import re

import duckdb

from supervision.errors import IdentifierError, Problem

WORDS = frozenset({
    "name", "names", "surname", "surnames", "forename", "forenames", "firstname", "lastname",
    "fullname", "givenname", "familyname", "middlename", "maidenname", "clientname",
    "patientname", "username", "email", "emails", "phone", "phones", "phonenumber", "mobile",
    "telephone", "tel", "cellphone", "fax", "address", "addresses", "street", "city",
    "postcode", "postcodes", "zip", "zipcode", "postalcode", "dob", "dateofbirth",
    "birthdate", "birthday", "nhs", "nhsnumber", "nhsno", "insurance", "insurancenumber",
    "policynumber", "policyno", "mrn", "medicalrecord", "medicalrecordnumber", "recordnumber",
    "patientnumber", "patientno", "ssn", "socialsecurity", "socialsecuritynumber", "passport",
    "chinumber", "ninumber",
})

ID_COLUMNS = ("client_id", "therapist_id", "episode_id")

# RE2 patterns for DuckDB.  E-mail: anywhere in the value.  Phone: the whole value.
EMAIL_RE = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+"
PHONE_RE = r"\+?\(?[0-9][0-9 ().\-]{7,22}[0-9]"
POSTCODE_RE = r"(?i)[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}"
NHS_RE = r"[0-9]{3}[ \-]?[0-9]{3}[ \-]?[0-9]{4}"
_DATE_IN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{1,2}/[0-9]{1,2}/[0-9]"
DATE_ID_RE = (r"[0-9]{4}[\-/.][0-9]{1,2}[\-/.][0-9]{1,2}"
              r"|[0-9]{1,2}[\-/.][0-9]{1,2}[\-/.]([0-9]{2}|[0-9]{4})")


def name_words(name: str) -> list[str]:
    """Split a column name into lower-case words (camelCase, spaces, ``_``, ``-``, ``.``)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(name))
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def looks_like_identifier_name(name: str) -> bool:
    """Whether a column name names a direct identifier (see module docstring)."""
    words = name_words(name)
    for size in (1, 2, 3):
        for i in range(len(words) - size + 1):
            if "".join(words[i : i + size]) in WORDS:
                return True
    return False


def check_names(columns: list[tuple[str, str]]) -> None:
    """Refuse any ``(file, column)`` whose column name looks like a direct identifier.

    Raises
    ------
    IdentifierError
        Listing every such column.
    """
    problems = [
        Problem(f, None, c, "this column looks like a direct identifier (a name, contact "
                "detail, address, date of birth or record number)")
        for f, c in columns if looks_like_identifier_name(c)
    ]
    if problems:
        raise IdentifierError(problems)


def _phone_sql(v: str) -> str:
    """The first digit run of ``v`` that could be a phone number, checked for its shape:
    10–15 digits; a leading ``+``, ``0`` or ``(`` or separated digit groups; and not a
    date (ISO or d/m/y) or a plain decimal number."""
    c = f"regexp_extract({v}, '{PHONE_RE}')"
    digits = f"length(regexp_replace({c}, '[^0-9]', '', 'g'))"
    return (
        f"({digits} BETWEEN 10 AND 15 "
        f"AND (regexp_matches({c}, '^[+0(]') OR regexp_matches({c}, '[0-9][ .\\-)][0-9(]')) "
        f"AND NOT regexp_matches({c}, '{_DATE_IN}') "
        f"AND NOT regexp_full_match({c}, '[0-9]*[.][0-9]+'))"
    )


def value_checks(v: str, *, id_column: bool) -> list[tuple[str, str]]:
    """``(kind, SQL condition)`` pairs that flag identifier-shaped values of expression ``v``."""
    def lazy(cheap: str, costly: str) -> str:
        # CASE evaluates the costly regex only on rows that pass the cheap test (AND does not).
        return f"CASE WHEN {cheap} THEN {costly} ELSE false END"

    checks = []
    if id_column:  # first: the more specific name wins when a value has two shapes
        checks += [
            ("a UK postcode", lazy(f"length({v}) BETWEEN 5 AND 8",
                                   f"regexp_full_match({v}, '{POSTCODE_RE}')")),
            ("an NHS number", lazy(f"length({v}) BETWEEN 10 AND 12",
                                   f"regexp_full_match({v}, '{NHS_RE}')")),
            ("a date of birth", lazy(f"length({v}) BETWEEN 6 AND 10",
                                      f"regexp_full_match({v}, '{DATE_ID_RE}')")),
        ]
    return [
        *checks,
        ("an e-mail address", lazy(f"contains({v}, '@')", f"regexp_matches({v}, '{EMAIL_RE}')")),
        ("a phone number", lazy(f"length({v}) >= 10", _phone_sql(v))),
    ]


def check_values(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    file: str,
    columns: list[tuple[str, str, bool]],
) -> list[Problem]:
    """Scan ``relation`` once; one problem per column holding identifier-shaped values.

    ``columns`` holds ``(sql column, export column name, is an id column)``.
    """
    if not columns:
        return []
    exprs: list[str] = []
    keys: list[tuple[str, str]] = []
    for sql_col, shown, is_id in columns:
        v = f"trim({sql_col})"
        for kind, cond in value_checks(v, id_column=is_id):
            exprs.append(f"min(_row) FILTER (WHERE {cond})")
            keys.append((shown, kind))
    row = con.execute(f"SELECT {', '.join(exprs)} FROM {relation}").fetchone() or ()
    firsts: dict[str, tuple[int, str]] = {}
    for (shown, kind), first in zip(keys, row, strict=True):
        if first is not None and (shown not in firsts or first < firsts[shown][0]):
            firsts[shown] = (int(first), kind)
    return [
        Problem(file, first, shown, f"holds what looks like {kind} (first at this row); "
                "identifiers must not be in the export")
        for shown, (first, kind) in firsts.items()
    ]


__all__ = ["check_names", "check_values", "looks_like_identifier_name", "name_words"]
