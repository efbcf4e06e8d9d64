"""The date fields show and take ISO dates (issue 24, item 7: the same date form everywhere).

A browser's own date input shows the reader's locale (09/01/2024) while every message, the
pack and the export say 2024-09-01.  :class:`DateField` is a text field in ``YYYY-MM-DD``:
what it shows is the ISO form of its ``value``, a typed date sets ``value``, and text that is
not a calendar date is said so beside the field while Apply recomputes nothing.
"""

from __future__ import annotations

import datetime as dt

import pytest

from supervision.views.dates import DateField, DateRange, parse_iso_date

FIRST, LAST = dt.date(2023, 1, 9), dt.date(2024, 11, 20)


def test_parse_takes_iso_dates_and_names_what_is_wrong() -> None:
    assert parse_iso_date(" 2024-09-01 ") == dt.date(2024, 9, 1)
    assert parse_iso_date("") is None  # an open end
    with pytest.raises(ValueError, match=r"“09/01/2024” is not a date in the form YYYY-MM-DD"):
        parse_iso_date("09/01/2024")
    with pytest.raises(ValueError, match="form YYYY-MM-DD"):
        parse_iso_date("2024-9-1")
    with pytest.raises(ValueError, match="2024-02-30 is not a day on the calendar"):
        parse_iso_date("2024-02-30")
    assert parse_iso_date("2024-02-29") == dt.date(2024, 2, 29)  # a leap day is one


def test_a_field_shows_its_value_in_iso_form_whichever_way_it_is_set() -> None:
    f = DateField(dt.date(2024, 9, 1), "From")
    assert f.text.value == "2024-09-01" and f.text.placeholder == "YYYY-MM-DD"
    f.value = dt.date(2023, 12, 31)
    assert f.text.value == "2023-12-31"
    f.text.value = "2024-03-05"
    assert f.value == dt.date(2024, 3, 5) and f.error == ""
    f.text.value = "05/03/2024"  # the locale form: refused, the last good date kept
    assert f.value == dt.date(2024, 3, 5)
    assert "YYYY-MM-DD" in f.error and f.message.layout.display is None
    assert "05/03/2024" in f.message.value
    f.value = dt.date(2024, 4, 1)  # a preset (or code) setting a date clears the complaint
    assert f.text.value == "2024-04-01" and f.error == "" and f.message.layout.display == "none"
    f.text.value = ""
    assert f.value is None and f.error == ""


def test_apply_refuses_text_that_is_not_a_date_and_recomputes_once_when_it_is() -> None:
    calls: list[int] = []
    r = DateRange(FIRST, LAST, lambda: calls.append(1))
    r.until.text.value = "2024-13-01"
    assert r.preset.value == "all"  # nothing taken from the bad text
    r.apply.click()
    assert calls == []
    assert "Not applied. To: 2024-13-01 is not a day on the calendar" in r.shown.value
    r.until.text.value = "2024-06-30"
    assert r.until.value == dt.date(2024, 6, 30) and r.preset.value == "custom"
    r.apply.click()
    assert calls == [1]
    r.mark_applied()
    assert "Showing 2023-01-09 to 2024-06-30" in r.shown.value
    r.preset.value = "last_quarter"  # 2024Q3, anchored at the latest session (2024-11-20)
    assert (r.since.text.value, r.until.text.value) == ("2024-07-01", "2024-09-30")
