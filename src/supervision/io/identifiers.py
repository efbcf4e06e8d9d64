"""The identifier guard (domain.md §8): refuse exports that carry direct identifiers.

Two checks, run after the mapping's ``[drop]`` and before anything else is validated.  Both
first *fold* the text (:func:`fold`): Unicode NFKC (full-width ``Ｎａｍｅ`` → ``Name``, ``①``
→ ``1``), then the common Cyrillic and Greek look-alikes to their Latin letters (``Nаme``
with a Cyrillic ``а``), no-break and other spaces to a space, en/em dashes and the minus sign
to ``-``, and invisible characters (zero-width space, soft hyphen, BOM) removed.

1. **Column names.**  A folded name loses its accents (``prénom`` → ``prenom``) and is split
   into words (``FirstName``, ``first-name`` and ``first_name`` all give ``first``,
   ``name``); it is refused when a word, or two or three adjacent words written together, is
   a direct-identifier word in English, German, French, Spanish, Dutch or Italian
   (:data:`WORDS`): names (``name``, ``Vorname``, ``nom``, ``apellido``, ``achternaam``),
   contact details (``email``, ``mail``, ``phone``, ``Telefon``, ``courriel``, ``correo``),
   addresses (``address``, ``Anschrift``, ``rue``, ``dirección``, ``postcode``, ``PLZ``),
   birth (``dob``, ``birth``, ``born``, ``Geburtsdatum``, ``date de naissance``, ``fecha de
   nacimiento``, ``geboortedatum``) and record numbers (``nhs``, ``mrn``, ``ssn``,
   ``passport``, ``BSN``, ``DNI``…).  Whole words only, so ``session_date``, ``start_date``,
   ``srs_relationship``, ``team``, ``termination``, ``rename`` or ``hotel`` pass, and no
   column of the data contract is ever refused.  ``username`` is refused: a login is usually
   built from a person's name.  Each kept column's *export* name is checked (a mapping cannot
   launder a ``Client Name`` column into ``client_id``; drop it instead).
2. **Values**, in SQL (DuckDB ``translate`` does the same folding for the characters that
   matter), in any free-text column: e-mail addresses, also with a non-ASCII (IDN) domain;
   phone numbers (10–15 digits with a leading ``+``/``0``/``(`` or separated digit groups —
   ``+44 7700 900123``, ``07700–900123``, ``0044 7700 900123`` — or a bare number starting
   with a country code, ``447700900123``); and NHS numbers (10 digits, optionally 3-3-4,
   whose Modulus 11 check digit is right), also inside free text.  In id columns also UK
   postcodes, any NHS-number-shaped value, a bare date (``14/03/1987``, ``1987-03-14``) and a
   compact date inside the id (``C-19850312``, ``JS120385``: ``YYYYMMDD``, ``DDMMYYYY``,
   ``MMDDYYYY`` or ``DDMMYY`` as a run of exactly 6 or 8 digits) — a date of
   birth used as an id.  A numbering scheme of 6- or 8-digit ids has some date-like ids by
   chance (about 1 in 27 or 1 in 500 at random, most of ``C100001``…``C100300``), so compact
   dates are refused only when at least half the column's ids with such a digit run read as
   a date and those dates are few (under 5) or sparse (:func:`_dates_of_birth`).  ISO dates
   have 8 digits and scores a few, so they never look like phone numbers; ``C0001``,
   ``T07`` and ``E-2023-0042`` pass.

The value scan reads the columns in batches of :data:`BATCH` and unpivots each batch, so one
statement holds a fixed number of expressions whatever the export's width (a statement with
the checks written out per column held ~3 MB of DuckDB expression state per column outside
its memory limit: 5.7 GB for 1,000 extra columns).  The checks then run on each column's
distinct cells, each with its first row and its number of rows (the compact-date rule
counts rows): an id repeats on every session of its episode, so at 1M sessions the three
id columns hold 3M cells but about 200k distinct values.

Every offending column is reported with the first row where it happens and the kind of
identifier, never the value.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata

import duckdb

from supervision.errors import IdentifierError, Problem

_EN = {
    "name", "names", "surname", "surnames", "forename", "forenames", "firstname", "lastname",
    "fullname", "givenname", "familyname", "middlename", "maidenname", "clientname",
    "patientname", "username", "nickname", "initials", "email", "emails", "emailaddress",
    "mail", "phone", "phones", "phonenumber", "phoneno", "mobile", "mobileno", "telephone",
    "tel", "telno", "cellphone", "fax", "address", "addresses", "street", "city", "postcode",
    "postcodes", "zip", "zipcode", "postalcode", "dob", "dateofbirth", "birthdate", "birthday",
    "birth", "born", "birthplace", "nhs", "nhsnumber", "nhsno", "insurance", "insurancenumber",
    "policynumber", "policyno", "mrn", "medicalrecord", "medicalrecordnumber", "recordnumber",
    "patientnumber", "patientno", "ssn", "socialsecurity", "socialsecuritynumber", "passport",
    "chinumber", "ninumber",
}
_DE = {
    "vorname", "nachname", "familienname", "geburtsname", "rufname", "geburtsdatum",
    "geburtstag", "geburtsort", "geboren", "geb", "anschrift", "adresse", "wohnadresse",
    "strasse", "hausnummer", "wohnort", "ort", "stadt", "plz", "postleitzahl", "telefon",
    "telefonnummer", "handy", "handynummer", "mobil", "mobilnummer", "versicherungsnummer",
    "versichertennummer", "sozialversicherungsnummer", "svnr", "ausweis", "ausweisnummer",
    "reisepass", "patientennummer", "initialen",
}
_FR = {
    "nom", "prenom", "prenoms", "nomdefamille", "nomdenaissance", "adresse", "rue", "ville",
    "codepostal", "telephone", "portable", "courriel", "mel", "datedenaissance", "naissance",
    "securitesociale", "numerodesecu", "nir", "passeport",
}
_ES = {
    "nombre", "nombres", "apellido", "apellidos", "direccion", "domicilio", "calle", "ciudad",
    "codigopostal", "telefono", "movil", "celular", "correo", "correoelectronico",
    "fechadenacimiento", "nacimiento", "dni", "nif", "pasaporte", "seguridadsocial",
}
_NL = {
    "naam", "voornaam", "achternaam", "familienaam", "roepnaam", "tussenvoegsel", "adres",
    "straat", "straatnaam", "huisnummer", "woonplaats", "telefoon", "telefoonnummer", "mobiel",
    "geboortedatum", "geboorteplaats", "bsn", "burgerservicenummer", "paspoort",
    "verzekeringsnummer", "polisnummer",
}
_IT = {"nome", "cognome", "indirizzo", "datadinascita", "codicefiscale", "cellulare"}
#: Direct-identifier words, accent-free and lower case (names are folded before matching).
WORDS = frozenset(_EN | _DE | _FR | _ES | _NL | _IT)

ID_COLUMNS = ("client_id", "therapist_id", "episode_id")

#: Cyrillic and Greek letters that look like Latin ones (Unicode confusables, the common ones);
#: the one table of look-alikes, also folded by the near-duplicate id notice (``near_ids``).
CONFUSABLES = dict(zip(
    "АВЕЅІЈКМНОРСТХУаеһіјԁоԛрсѕуԝхӏ" "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧαιονρυχκ",
    "ABESIJKMHOPCTXYaehijdoqpcsywxl" "ABEZHIKMNOPTYXaiovpuxk",
    strict=True,
))
_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
          "\u202f\u205f\u3000"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"
_INVISIBLE = "\u00ad\u034f\u061c\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062" \
             "\u2063\u2064\ufeff"
@functools.cache
def _char_map() -> dict[str, str]:
    """One-character folds for SQL: full-width ASCII (NFKC), small ``@``, spaces, dashes,
    look-alikes.  Kept short: DuckDB's ``translate`` costs time in the length of its map."""
    out = {chr(cp): chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F)}
    out.update({"\ufe6b": "@", "\u2024": ".", "\ufe52": "."})
    out.update(dict.fromkeys(_SPACES, " "))
    out.update(dict.fromkeys(_DASHES, "-"))
    out.update(CONFUSABLES)
    return out


_FOLD = str.maketrans({**CONFUSABLES, **dict.fromkeys(_SPACES, " "),
                       **dict.fromkeys(_DASHES, "-")})


def fold(text: str) -> str:
    """NFKC, then look-alikes to Latin, spaces and dashes to ASCII, invisible characters out."""
    s = unicodedata.normalize("NFKC", str(text)).translate(_FOLD)
    return "".join(ch for ch in s if unicodedata.category(ch) != "Cf")


def name_words(name: str) -> list[str]:
    """Split a folded, accent-free column name into lower-case words (camelCase, spaces,
    ``_``, ``-``, ``.``)."""
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", fold(name))
                    if not unicodedata.combining(ch))
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", plain)
    return [w for w in re.split(r"[^a-z0-9]+", spaced.casefold()) if w]


def looks_like_identifier_name(name: str) -> bool:
    """Whether a column name names a direct identifier (see module docstring)."""
    words = name_words(name)
    for size in (1, 2, 3):
        for i in range(len(words) - size + 1):
            if "".join(words[i : i + size]) in WORDS:
                return True
    return False


def is_person_column(name: str) -> bool:
    """Whether a column name says its values are about a person (:data:`PERSON_WORDS`)."""
    words = name_words(name)
    return any(w in PERSON_WORDS for w in words) or any(
        a + b in PERSON_WORDS for a, b in itertools.pairwise(words))


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


# RE2 patterns for DuckDB, matched on folded values.  E-mail: anywhere in the value.
EMAIL_RE = r"[\p{L}\p{N}._%+\-]+@[\p{L}\p{N}\-]+(\.[\p{L}\p{N}\-]+)+"
PHONE_RE = r"\+?\(?[0-9][0-9 ().\-]{7,22}[0-9]"
#: A bare number after a country calling code (no ``+``): NANP, then common European and
#: other codes; the national number does not start with 0.
COUNTRY_RE = (r"1[2-9][0-9]{9}"
              r"|(2[07]|3[0-469]|4[0-9]|5[1-8]|6[0-6]|8[1-46]|9[0-58])[1-9][0-9]{8,10}"
              r"|(35[0-9]|37[0-9]|38[0-9]|42[0-9])[1-9][0-9]{7,9}")
POSTCODE_RE = r"(?i)[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}"
NHS_RE = r"[0-9]{3}[ \-]?[0-9]{3}[ \-]?[0-9]{4}"
NHS_IN_RE = r"(^|[^0-9])([0-9]{3}[ \-]?[0-9]{3}[ \-]?[0-9]{4})($|[^0-9])"
_DATE_IN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{1,2}/[0-9]{1,2}/[0-9]"
DATE_ID_RE = (r"[0-9]{4}[\-/.][0-9]{1,2}[\-/.][0-9]{1,2}"
              r"|[0-9]{1,2}[\-/.][0-9]{1,2}[\-/.]([0-9]{2}|[0-9]{4})")
RUN_RE = r"(^|[^0-9])([0-9]{8}|[0-9]{6})($|[^0-9])"
_D, _M, _Y = r"(0[1-9]|[12][0-9]|3[01])", r"(0[1-9]|1[0-2])", r"(19|20)[0-9]{2}"
COMPACT_DATE_RE = (f"{_Y}{_M}{_D}|{_D}{_M}{_Y}|{_M}{_D}{_Y}"  # 8 digits
                   f"|{_D}{_M}[0-9]{{2}}")  # 6 digits: DDMMYY, as UK (CHI) numbers use
#: A personal name: two to four capitalised words, initials allowed (``Jane Smith``,
#: ``Smith, Jane``, ``J. Smith``, ``Mary-Jane O'Brien``, ``Dr Jane Smith``), no digits.
NAME_RE = r"\p{Lu}[\p{L}'\x{2019}\-]*\.?(,? +\p{Lu}[\p{L}'\x{2019}\-]*\.?){1,3}"
_MONTH = (r"(january|february|march|april|may|june|july|august|september|october|november"
          r"|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?")
_DAY = r"(0?[1-9]|[12][0-9]|3[01])(st|nd|rd|th)?"
_SEP = r"[ \-/.,]*"
#: A written-out date with a month name (``14 Mar 1987``, ``March 14, 1987``,
#: ``14th of March 1987``, ``C-14Mar1987``), not inside a longer word or number.
WRITTEN_DATE_RE = (rf"(?i)(^|[^\p{{L}}\p{{N}}])({_DAY}{_SEP}(of )?{_MONTH}{_SEP}(19|20)[0-9]{{2}}"
                   rf"|{_MONTH}{_SEP}{_DAY}{_SEP}(19|20)[0-9]{{2}})($|[^\p{{L}}\p{{N}}])")
#: A UK National Insurance number (two letters, three pairs of digits, A–D), spaced or not,
#: any prefix (HMRC's example prefix ``QQ`` included).
NINO_RE = (r"(?i)(^|[^\p{L}\p{N}])[A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]"
           r"($|[^\p{L}\p{N}])")
_AT = r"( *@ *| *[(\[{<] *at *[)\]}>] *)"
_DOT = r"(\.| *[(\[{<] *dot *[)\]}>] *)"
_PART = r"[\p{L}\p{N}\-]+"
#: An e-mail address written to dodge a filter: ``jane(at)example(dot)com``,
#: ``jane @ example.com``, ``jane [at] example [dot] com``, ``jane at example dot com``.
OBFUSCATED_EMAIL_RE = (rf"(?i)[\p{{L}}\p{{N}}._%+\-]+({_AT}{_PART}({_DOT}{_PART})+"
                       rf"| +at +{_PART}( +dot +{_PART})+)")
#: Words of a column name that say its values are about a person (a client, a patient, a
#: colleague): such a column outside the contract is scanned for names and written dates
#: like an id column.  Folded and accent-free, as :data:`WORDS`.
PERSON_WORDS = frozenset({
    "client", "clients", "klient", "klienten", "klientin", "cliente", "clienta", "patient",
    "patients", "patientin", "patienten", "paciente", "patiente", "pt", "ref", "reference",
    "referee", "referrer", "person", "persons", "people", "customer", "kunde", "resident",
    "serviceuser", "user", "who", "contact", "therapist", "counsellor", "counselor",
    "clinician", "practitioner", "therapeut", "therapeutin", "staff", "worker",
    "supervisor", "caller", "pupil", "student", "member", "carer", "parent", "guardian",
    "nok", "nextofkin", "gp", "doctor", "behandler",
})
#: Free-text columns per scan statement (module docstring).
BATCH = 64


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


#: A character :func:`fold_sql` changes (a cheap test: most values hold none).
_FOLDABLE = (r"[\x{00A0}\x{00AD}\x{034F}\x{0370}-\x{052F}\x{061C}\x{1680}\x{180E}"
             r"\x{2000}-\x{2064}\x{3000}\x{FE50}-\x{FE6B}\x{FEFF}\x{FF01}-\x{FF5E}]")


def fold_sql(v: str) -> str:
    """SQL for :func:`fold` on the characters that matter to the value checks; a value with
    none of them (:data:`_FOLDABLE`: most values) is left alone, the fast path."""
    m = _char_map()
    tr = f"translate({v}, {_lit(''.join(m) + _INVISIBLE)}, {_lit(''.join(m.values()))})"
    # strlen (bytes) > length (characters) first: an ASCII value skips the regex too
    return (f"CASE WHEN strlen({v}) > length({v}) AND regexp_matches({v}, '{_FOLDABLE}') "
            f"THEN {tr} ELSE {v} END")


def _lazy(cheap: str, costly: str) -> str:
    # CASE evaluates the costly regex only on rows that pass the cheap test (AND does not).
    return f"CASE WHEN {cheap} THEN {costly} ELSE false END"


def _phone_sql(v: str) -> str:
    """The first digit run of ``v`` that could be a phone number, checked for its shape:
    10–15 digits; a leading ``+``, ``0`` or ``(``, separated digit groups, or a country
    code; and not a date (ISO or d/m/y) or a plain decimal number."""
    c = f"regexp_extract({v}, '{PHONE_RE}')"
    digits = f"length(regexp_replace({c}, '[^0-9]', '', 'g'))"
    return (
        f"({digits} BETWEEN 10 AND 15 "
        f"AND (regexp_matches({c}, '^[+0(]') OR regexp_matches({c}, '[0-9][ .\\-)][0-9(]') "
        f"OR regexp_full_match({c}, '{COUNTRY_RE}')) "
        f"AND NOT regexp_matches({c}, '{_DATE_IN}') "
        f"AND NOT regexp_full_match({c}, '[0-9]*[.][0-9]+'))"
    )


def _mod11_sql(x: str) -> str:
    """Whether the 10 digits ``x`` carry a right NHS Modulus 11 check digit (a remainder of
    10 is never right: (11 - 1) % 11 = 10 is no digit)."""
    weighted = " + ".join(f"{10 - i} * CAST(substr({x}, {i + 1}, 1) AS INTEGER)"
                          for i in range(9))
    return f"(11 - ({weighted}) % 11) % 11 = CAST(substr({x}, 10, 1) AS INTEGER)"


def _columns_sql(v: str, ids: str) -> str:
    """Derived columns of one folded value ``v``: ``nhs`` (the digits of its first
    NHS-shaped group) and ``run`` (its first 6- or 8-digit run, id columns only)."""
    nhs = f"regexp_replace(regexp_extract({v}, '{NHS_IN_RE}', 2), '[^0-9]', '', 'g')"
    run = f"regexp_extract({v}, '{RUN_RE}', 2)"
    return (f"CASE WHEN length({v}) >= 10 THEN {nhs} END AS nhs, "
            f"CASE WHEN {ids} AND length({v}) >= 6 THEN {run} END AS run")


def value_checks(v: str, *, ids: str, people: str = "false") -> list[tuple[str, str]]:
    """``(kind, SQL condition)`` pairs that flag identifier-shaped values of expression ``v``
    (folded), with ``nhs`` from :func:`_columns_sql`; ``ids`` is true on id columns,
    ``people`` on id columns and on columns about a person (:func:`is_person_column`)."""
    return [  # the more specific kind first: it wins when a value has two shapes
        ("a National Insurance number", _lazy(f"length({v}) >= 9",
                                              f"regexp_matches({v}, '{NINO_RE}')")),
        ("a written-out date (a date of birth?)", _lazy(
            f"{people} AND length({v}) >= 8 AND regexp_matches({v}, '[0-9]{{4}}')",
            f"regexp_matches({v}, '{WRITTEN_DATE_RE}')")),
        ("a personal name", _lazy(
            f"{people} AND NOT regexp_matches({v}, '[0-9]')",
            f"regexp_full_match({v}, {_lit(NAME_RE)}) AND regexp_matches({v}, '\\p{{L}}{{2}}')")),
        ("a UK postcode", _lazy(f"{ids} AND length({v}) BETWEEN 5 AND 8",
                                f"regexp_full_match({v}, '{POSTCODE_RE}')")),
        ("an NHS number", _lazy("length(nhs) = 10", _mod11_sql("nhs"))),
        ("an NHS number", _lazy(f"{ids} AND length({v}) BETWEEN 10 AND 12",
                                f"regexp_full_match({v}, '{NHS_RE}')")),
        ("a date of birth", _lazy(f"{ids} AND length({v}) BETWEEN 6 AND 10",
                                  f"regexp_full_match({v}, '{DATE_ID_RE}')")),
        ("an e-mail address", _lazy(f"contains({v}, '@')",
                                    f"regexp_matches({v}, '{EMAIL_RE}')")),
        ("a phone number", _lazy(f"length({v}) >= 10", _phone_sql(v))),
        ("an e-mail address written to dodge a filter", _lazy(
            f"length({v}) >= 6 AND (contains({v}, '@') OR contains(lower({v}), 'at'))",
            f"regexp_matches({v}, '{OBFUSCATED_EMAIL_RE}')")),
    ]


def check_values(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    file: str,
    columns: list[tuple[str, str, bool]],
) -> list[Problem]:
    """One problem per column of ``relation`` holding identifier-shaped values.

    ``columns`` holds ``(sql column, export column name, is an id column)``; they are
    scanned :data:`BATCH` at a time.
    """
    firsts: dict[int, tuple[int, str]] = {}
    for start in range(0, len(columns), BATCH):
        batch = list(enumerate(columns))[start : start + BATCH]
        firsts.update(_scan(con, relation, batch))
    return [
        Problem(file, first, columns[k][1], f"holds what looks like {kind} (first at this "
                "row); identifiers must not be in the export")
        for k, (first, kind) in sorted(firsts.items())
    ]


_DATED = _lazy("run <> ''", f"regexp_full_match(run, '{COMPACT_DATE_RE}')")
#: Over the distinct values: ``n`` is how many rows hold the value, ``_row`` the first.
_RUNS = ("coalesce(sum(n) FILTER (WHERE run <> ''), 0), "
         "coalesce(sum(n) FILTER (WHERE dated), 0), min(_row) FILTER (WHERE dated), "
         "count(DISTINCT run) FILTER (WHERE dated), "
         "min(TRY_CAST(run AS BIGINT)) FILTER (WHERE dated), "
         "max(TRY_CAST(run AS BIGINT)) FILTER (WHERE dated)")


def _dates_of_birth(with_run: int, dated: int, n: int, lo: int | None, hi: int | None) -> bool:
    """Whether a column's compact dates read as dates of birth rather than as the chance
    dates of a numbering scheme: at least half of its 6- or 8-digit runs are dates, and the
    dated runs are few (under 5 distinct) or sparse (under a fifth of the numbers between
    the least and the greatest: ``C100001``…``C100300`` are dense, birth dates are not)."""
    if not dated or 2 * dated < with_run:
        return False
    return n < 5 or (lo is not None and hi is not None and n < 0.2 * (hi - lo + 1))


def _scan(
    con: duckdb.DuckDBPyConnection, relation: str, batch: list[tuple[int, tuple[str, str, bool]]]
) -> dict[int, tuple[int, str]]:
    """Unpivot ``batch`` (index, column) of ``relation`` and run every check in one pass
    over each column's *distinct* cells (``d``: the first row and the number of rows of
    each; an id repeats on every session of its episode; two cells that differ only in
    surrounding spaces stay two entries, which changes no aggregate); return column index
    -> (first row, kind) for each offending column."""
    keys = ", ".join(str(k) for k, _ in batch)
    cols = ", ".join(c for _, (c, _, _) in batch)
    id_keys = [str(k) for k, (_, _, is_id) in batch if is_id]
    ids = f"k IN ({', '.join(id_keys)})" if id_keys else "false"
    people_keys = [str(k) for k, (_, name, is_id) in batch if is_id or is_person_column(name)]
    people = f"k IN ({', '.join(people_keys)})" if people_keys else "false"
    checks = value_checks("v", ids=ids, people=people)
    aggs = [f"min(_row) FILTER (WHERE {cond})" for _, cond in checks]
    sql = (
        f"WITH u AS (SELECT _row, unnest([{keys}]) AS k, unnest([{cols}]) AS cell "
        f"FROM {relation}), d AS (SELECT k, trim(cell) AS raw, min(_row) AS _row, "
        f"count(*) AS n FROM u GROUP BY k, cell), "
        f"f AS (SELECT _row, n, k, {fold_sql('raw')} AS v FROM d WHERE length(raw) >= 5), "
        f"g AS (SELECT *, {_columns_sql('v', ids)} FROM f), "
        f"h AS (SELECT *, {_DATED} AS dated FROM g) "
        f"SELECT k, {', '.join(aggs)}, {_RUNS} FROM h GROUP BY k"
    )
    found: dict[int, tuple[int, str]] = {}
    for k, *firsts, with_run, dated, first, n, lo, hi in con.execute(sql).fetchall():
        hits = [(int(r), kind) for (kind, _), r in zip(checks, firsts, strict=True)
                if r is not None]
        if _dates_of_birth(with_run, dated, n, lo, hi):
            hits.append((int(first), "a date of birth"))
        if hits:
            found[int(k)] = min(hits, key=lambda h: h[0])
    return found


__all__ = [
    "BATCH", "CONFUSABLES", "PERSON_WORDS", "WORDS", "check_names", "check_values", "fold",
    "is_person_column", "looks_like_identifier_name", "name_words",
]
