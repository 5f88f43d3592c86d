"""strptime.reader gives exactly what datetime.strptime gives, for any format and any text."""

from __future__ import annotations

import datetime as dt

from hypothesis import example, given, settings
from hypothesis import strategies as st

from courtfeed.mapping import strptime

DIRECTIVES = ["%Y", "%y", "%m", "%d", "%b", "%B", "%H", "%I", "%M", "%S", "%f", "%p", "%%", "%j", "%z", "%a"]
LITERALS = ["/", "-", " ", "  ", ":", "T", ".", ",", "", "\t", "x", "("]
PIECES = [
    "1", "2", "3", "0", "9", "12", "29", "31", "60", "61", "2026", "1999", "26", "69", "68", "0001", "0000", "٢٠٢٦",
    "jan", "Dec", "SEPTEMBER", "may", "AM", "pm", "P.M.", " ", "/", "-", ":", "t", "T", "  ", "\t", "%", "x",
    "+05:00", "Z", "Wed", ".", "(",
]  # fmt: skip


def strptime_or_none(text: str, fmt: str):
    try:
        return dt.datetime.strptime(text, fmt)
    except ValueError:
        return None


def outcome(read, *args):
    """The result, or the kind of error (a format naming a directive twice is refused)."""
    try:
        return read(*args)
    except Exception as exc:  # noqa: BLE001 - compared, not hidden
        return type(exc)


formats = st.lists(
    st.tuples(st.sampled_from(DIRECTIVES), st.sampled_from(LITERALS)), min_size=1, max_size=6
).map(lambda parts: "".join(d + lit for d, lit in parts))
texts = st.lists(st.sampled_from(PIECES), min_size=0, max_size=9).map("".join)


@settings(max_examples=800)
@given(formats, texts)
@example("%m/%d/%Y", "02/30/2026")
@example("%m/%d", "02/29")  # no year: strptime's 1900 has no February 29th
@example("%H:%M:%S", "10:15:60")
@example("%Y-%m-%dT%H:%M", "2026-12-24t10:15")
@example("%I:%M %p", "12:30 am")
@example("%d-%b-%Y", "24-DEC-2026")
@example("%Y %Y", "2026 2026")
@example("%Y-%m-%d", "0000-01-01")  # no year 0
def test_reader_agrees_with_strptime_on_any_text(fmt, text):
    assert outcome(lambda: strptime.reader(fmt)(text)) == outcome(strptime_or_none, text, fmt)


moments = st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59))


@settings(max_examples=800)
@given(formats, moments, st.sampled_from(["as is", "lower", "upper", "unpadded", "spaced"]))
def test_reader_agrees_with_strptime_on_written_dates(fmt, moment, change):
    """Texts strftime wrote with the format (so most of them match), changed as people do."""
    text = moment.strftime(fmt)
    text = {
        "as is": text,
        "lower": text.lower(),
        "upper": text.upper(),
        "unpadded": text.replace("0", "", 1),
        "spaced": text.replace(" ", "  "),
    }[change]
    assert outcome(lambda: strptime.reader(fmt)(text)) == outcome(strptime_or_none, text, fmt)
