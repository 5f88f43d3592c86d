"""The Arrow fast paths (plain text, NANP phones, e-mail already in shape) give exactly what the
field's steps give value by value in Python (the per-distinct path a dictionary-encoded column
takes), and phone results agree with the phonenumbers library."""

from __future__ import annotations

import random

import phonenumbers
import pyarrow as pa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from courtfeed.config.template import FieldSpec
from courtfeed.mapping import convert
from courtfeed.mapping.convert import convert_column

CHICAGO = "America/Chicago"


def outcome(converted) -> tuple[list, list]:
    codes = converted.codes.to_pylist() if converted.codes is not None else [None] * len(converted.values)
    return converted.values.to_pylist(), [None if c is None else converted.errors[c] for c in codes]


def _same(values: list, spec: FieldSpec, kind: str) -> None:
    plain = pa.array(values, pa.string())
    fast = outcome(convert_column(plain, spec, kind, CHICAGO))
    per_distinct = outcome(convert_column(plain.dictionary_encode(), spec, kind, CHICAGO))
    assert fast == per_distinct


def test_fast_paths_are_taken(monkeypatch):
    """Guard for the comparisons below: the plain column does not go the per-distinct way."""
    taken = []
    real = convert._per_distinct

    def recording(raw, spec, kind, tz):
        taken.append(len(raw))
        return real(raw, spec, kind, tz)

    monkeypatch.setattr(convert, "_per_distinct", recording)
    convert_column(pa.array(["a", None]), FieldSpec(column="T"), "text", CHICAGO)
    convert_column(pa.array(["(708) 363-0739"] * 3), FieldSpec(column="P"), "phone", CHICAGO)
    convert_column(pa.array(["a@x.co", "Zoë@x.co"]), FieldSpec(column="E"), "email", CHICAGO)
    assert taken == []
    convert_column(pa.array(["a@X.co", "b@x.co"]), FieldSpec(column="E"), "email", CHICAGO)
    assert taken == [1]  # only the address whose domain needs lower-casing


def test_nanp_fast_path_matches_the_per_value_parser():
    rnd = random.Random(8)
    shapes = ["({a}) {b}-{c}", "{a}-{b}-{c}", "{a}{b}{c}", "1{a}{b}{c}", "+1 {a} {b} {c}", " {a}.{b}.{c} "]
    values = [
        rnd.choice(shapes).format(
            a=rnd.randrange(100, 1000), b=rnd.randrange(100, 1000), c=f"{rnd.randrange(10000):04d}"
        )
        for _ in range(3000)
    ]
    values += ["", "   ", None, "555", "7735550123.0", "+44 20 7946 0958", "011 27 81000", "٧٧٣٥٥٥٠١٢٣"]
    _same(values, FieldSpec(column="P", type="phone", region="US"), "phone")
    _same(values, FieldSpec(column="P", type="phone", region="US", required=True), "phone")
    _same(values, FieldSpec(column="P", type="phone", region="GB"), "phone")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(max_size=12),
            st.emails().map(lambda e: f" {e.upper()} "),
            st.emails(),
            st.sampled_from(["zoë.peña40@mail.example", "ÿ×@x.co", "josé@x.co\n", "a@b.co "]),
        ),
        max_size=30,
    )
)
def test_text_and_email_match_the_per_value_steps(values):
    _same(values, FieldSpec(column="E", type="email"), "email")
    _same(values, FieldSpec(column="E", type="email", trim=False), "email")
    _same(values, FieldSpec(column="E", required=True), "text")
    _same(values, FieldSpec(column="E", trim=False), "text")


nanp_spellings = st.builds(
    lambda prefix, area, sep1, exchange, sep2, line, parens: (
        prefix + (f"({area})" if parens else area) + sep1 + exchange + sep2 + line
    ),
    st.sampled_from(["", "1", "1-", "+1 ", "+1", "1 "]),
    st.text(alphabet="0123456789", min_size=3, max_size=3),
    st.sampled_from(["", "-", ".", " "]),
    st.text(alphabet="0123456789", min_size=3, max_size=3),
    st.sampled_from(["", "-", ".", " "]),
    st.text(alphabet="0123456789", min_size=4, max_size=4),
    st.booleans(),
)


def slow_path(text, region):
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_possible_number(number) and phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


@settings(max_examples=300)
@given(nanp_spellings, st.sampled_from(["US", "CA"]))
@example("201200.0000", "US")  # dotted, not a float that lost its type
def test_phone_fast_path_agrees_with_phonenumbers_parse(text, region):
    spec = FieldSpec(column="P", type="phone", region=region)
    assert outcome(convert_column(pa.array([text]), spec, "phone", CHICAGO))[0] == [slow_path(text, region)]
