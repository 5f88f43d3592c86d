"""Single values of source text into typed values: numbers, dates, times, phones, e-mail, yes/no.

Plain Python on one value, or on a list of distinct values where trying formats in turn is
cheaper done for all of them at once; convert.py calls these once per distinct value of a column.
Each parser returns the typed value or None when the text is not one (the caller knows the rule
and its message). Values come out as plain Python objects (int, Decimal, date, time, aware
datetime, bool, str).

Blank means an empty cell or a cell that is empty after trimming. Placeholder words such as
"NULL" or "N/A" are *not* treated as blank; map them to null with ``map`` when a feed uses them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import phonenumbers

from courtfeed.mapping import strptime

DEFAULT_DATE_FORMATS = ["%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%Y%m%d", "%d-%b-%Y"]
DEFAULT_TIME_FORMATS = ["%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p", "%I %p"]
DEFAULT_DATETIME_FORMATS = [
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M",
]

# The Excel reader writes date cells as "YYYY-MM-DDT00:00:00"; a date field accepts that (and
# plain ISO dates) whatever formats the template lists. A non-midnight time is not a date.
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]00:00(?::00(?:\.0+)?)?)?$")
# A raw Excel serial day number (a date cell formatted as a number, or a CSV saved from Excel),
# days since 1899-12-30. Only five digits (1927-05-18 .. 2173-10-13), tried after every format:
# a bare year such as 1990 or an unparsed mmddyy would otherwise become a wrong date silently.
_EXCEL_SERIAL = re.compile(r"^[1-9]\d{4}(?:\.0+)?$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)

_INTEGER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.0*)?$")
# Money as agencies write it: -$5, $-5, $1,234.50, (12.00), ($12.00), 1234.5, .50
_DECIMAL = re.compile(
    r"^(?P<open>\()?\s*(?P<sign>[+-])?\s*\$?\s*(?P<sign2>[+-])?\s*"
    r"(?P<number>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)\s*(?P<close>\))?$"
)
# A North American number in one of its everyday spellings: area code, exchange, line
_NANP = re.compile(r"^(?:\+?1[-. ]?)?\(?(\d{3})\)?[-. ]?(\d{3})[-. ]?(\d{4})$")
# 7735550123.0: a phone that went through a float (str(float) writes exactly one zero, so
# a dotted spelling such as 201200.0000 is left to the phone parser)
_FLOAT_LIKE_DIGITS = re.compile(r"^\+?\d+\.0$")
# Deliberately simple: one @, no spaces, a dotted domain. Letters may be non-ASCII
# (internationalised addresses such as josé.peña@mail.example are valid, RFC 6531).
_EMAIL = re.compile(r"^[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+$")
_BOOLEANS = {
    "true": True,
    "t": True,
    "yes": True,
    "y": True,
    "1": True,
    "false": False,
    "f": False,
    "no": False,
    "n": False,
    "0": False,
}


def parse_integer(value: str) -> int | None:
    if not _INTEGER.match(value):
        return None
    return int(value.replace(",", "").split(".")[0])


def parse_decimal(value: str) -> Decimal | None:
    m = _DECIMAL.match(value)
    if not m or bool(m["open"]) != bool(m["close"]) or (m["sign"] and m["sign2"]):
        return None
    sign = m["sign"] or m["sign2"]
    if m["open"] and sign:  # "(-5)" is not a way anyone writes money
        return None
    try:
        number = Decimal(m["number"].replace(",", ""))
    except InvalidOperation:
        return None
    return -number if (m["open"] or sign == "-") else number


def _read(values: list[str], formats: Iterable[str]) -> list[dt.datetime | None]:
    """Each value read with the first of ``formats`` (strptime) that fits it, else None."""
    readers = [strptime.reader(fmt) for fmt in formats]
    results: list[dt.datetime | None] = []
    for value in values:
        found = None
        for read in readers:
            found = read(value)
            if found is not None:
                break
        results.append(found)
    return results


def parse_date_values(values: list[str], formats: list[str] | None = None) -> list[dt.date | None]:
    """Distinct date strings -> dates, None where no format fits.

    The given formats are tried in order, then ISO (``YYYY-MM-DD``, optionally followed by a
    midnight time as written by the Excel reader) and a five-digit Excel serial day number as
    last resorts. Without formats the defaults are used: ISO, %m/%d/%Y, %m/%d/%y, %Y%m%d, %d-%b-%Y.
    """
    results: list[dt.date | None] = []
    for value, found in zip(values, _read(values, formats or DEFAULT_DATE_FORMATS), strict=True):
        if found is not None:
            results.append(found.date())
        elif _ISO_DATE.match(value):
            try:
                results.append(dt.date.fromisoformat(value[:10]))
            except ValueError:  # e.g. 2026-02-30
                results.append(None)
        elif _EXCEL_SERIAL.match(value):
            results.append(_EXCEL_EPOCH + dt.timedelta(days=int(float(value))))
        else:
            results.append(None)
    return results


def parse_time_values(values: list[str], formats: list[str] | None = None) -> list[dt.time | None]:
    """Distinct time strings -> wall-clock times, None where no format fits (defaults:
    %H:%M, %H:%M:%S, %I:%M %p, %I:%M%p, %I %p)."""
    return [
        None if found is None else found.time() for found in _read(values, formats or DEFAULT_TIME_FORMATS)
    ]


def localize(naive: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Attach the agency's zone to a wall-clock time.

    In the autumn overlap (a wall time that happens twice) the earlier instant is chosen
    (``fold=0``, daylight time). A wall time in the spring-forward gap does not exist; it is
    read with the offset in force before the gap, which moves it forward by the gap (02:30 on
    the changeover night becomes 03:30 daylight time).
    """
    aware = naive.replace(tzinfo=zone, fold=0)
    return aware.astimezone(dt.UTC).astimezone(zone)


def parse_datetime_values(
    values: list[str], formats: list[str] | None, zone: ZoneInfo
) -> list[dt.datetime | None]:
    """Distinct date-time strings -> aware datetimes in ``zone``, None where nothing fits.

    The formats (defaults: DEFAULT_DATETIME_FORMATS) are tried in order, then ISO 8601 with or
    without an offset. A value without an offset is a wall time in ``zone`` (see localize()); one
    with an offset is that instant.
    """
    results: list[dt.datetime | None] = []
    for value, found in zip(values, _read(values, formats or DEFAULT_DATETIME_FORMATS), strict=True):
        if found is None:
            try:  # ISO as a last resort, including offsets such as Z or -06:00
                found = dt.datetime.fromisoformat(value)
            except ValueError:
                results.append(None)
                continue
        results.append(localize(found, zone) if found.tzinfo is None else found.astimezone(zone))
    return results


def phone_parser(region: str) -> Callable[[str], str | None]:
    """A parser of phone numbers written in ``region``: E.164 or None.

    A number must be both possible (a plausible length) and valid (in a range actually
    assigned) for its country: a well-formed number with an unassigned area code is refused.
    ``phonenumbers.parse`` is the slow part, so for regions in the North American plan
    (country code 1) the common shapes - (708) 363-0739, 708.363.0739, 1-708-363-0739 - are
    read with a regex instead; the validity check is the same either way.
    """
    nanp = phonenumbers.country_code_for_region(region) == 1

    def parse(value: str) -> str | None:
        if _FLOAT_LIKE_DIGITS.match(value):
            value = value.split(".")[0]
        if nanp and (m := _NANP.match(value)):
            national = int("".join(m.groups()))
            fast = _e164(phonenumbers.PhoneNumber(country_code=1, national_number=national), region)
            if fast:
                return fast
            # Not a valid NANP number, but the same digits may still be one to phonenumbers
            # (011 is the international prefix: 011 278 1000 is +27 81000), so ask it.
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            return None
        return _e164(number, region)

    return parse


def _e164(number: phonenumbers.PhoneNumber, region: str) -> str | None:
    if not phone_is_valid(number, region):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_is_valid(number: phonenumbers.PhoneNumber, region: str) -> bool:
    """Possible (a plausible length) and valid (assigned) in ``region`` or in its own country."""
    valid = phonenumbers.is_valid_number_for_region(number, region) or phonenumbers.is_valid_number(number)
    return bool(phonenumbers.is_possible_number(number) and valid)


def parse_email(value: str) -> str | None:
    """The address with its domain lower-cased, or None when it is not one."""
    if not _EMAIL.match(value):
        return None
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def parse_boolean(value: str) -> bool | None:
    return _BOOLEANS.get(value.lower())
