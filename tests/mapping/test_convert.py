"""The Arrow conversion (map stage hot path) gives exactly transforms.convert's results."""

from __future__ import annotations

import random

import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from courtfeed.config.template import FieldSpec
from courtfeed.mapping.convert import convert_column
from courtfeed.mapping.parsers import convert


def _same(values: list, spec: FieldSpec, kind: str) -> None:
    expected, errors = convert(pd.Series(values, dtype=object), spec, kind, "America/Chicago")
    got = convert_column(pa.array(values, pa.string()), spec, kind, "America/Chicago")
    codes = got.codes.to_pylist() if got.codes is not None else [None] * len(values)
    got_errors = [None if c is None else got.errors[c] for c in codes]
    assert got_errors == [e if isinstance(e, tuple) else None for e in errors.tolist()]
    want = [
        None if isinstance(e, tuple) else v for v, e in zip(expected.tolist(), errors.tolist(), strict=True)
    ]
    assert [v for v in got.values.to_pylist()] == want


def test_nanp_fast_path_matches_the_phonenumbers_library():
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
        st.one_of(st.none(), st.text(max_size=12), st.emails().map(lambda e: f" {e.upper()} ")), max_size=30
    )
)
def test_text_and_email_match_convert(values):
    _same(values, FieldSpec(column="E", type="email"), "email")
    _same(values, FieldSpec(column="E", required=True), "text")
    _same(values, FieldSpec(column="E", trim=False), "text")
