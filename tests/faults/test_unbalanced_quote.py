"""A quote that opens and never closes swallows the rows after it; the reject
names the quote and the lines it swallowed, instead of "row has 2 fields"."""

from __future__ import annotations

from pathlib import Path

from tests.readers.conftest import read_back

HEADER = ",".join(f"C{i}" for i in range(1, 15))


def row(n: int) -> str:
    return ",".join([str(n), *(f"v{n}_{i}" for i in range(2, 15))])


def test_unbalanced_quote_that_closes_later_names_the_swallowed_lines(tmp_path: Path):
    lines = [HEADER, row(2), row(3), row(4)]
    lines.append('5,"broken' + "," * 12)  # row 5 opens a quote in its 2nd field
    lines += [row(n) for n in range(6, 36)]  # 30 rows swallowed ...
    lines.append('36",x')  # ... until a stray quote closes it
    lines += [row(37), row(38)]
    path = tmp_path / "hearings.csv"
    path.write_text("\n".join(lines) + "\n")

    got = read_back(path)

    assert [r[0] for r in got.rows] == ["2", "3", "4", "37", "38"]
    assert len(got.rejects) == 1
    reject = got.rejects[0]
    assert reject.rule == "unbalanced_quote"
    assert reject.row == 5
    assert "lines 5-36" in reject.message and "32 lines" in reject.message


def test_quote_never_closed_to_the_end_of_the_file_is_reported(tmp_path: Path):
    # The quote opens in the last column: the swallowed record has the right number of fields,
    # so nothing but the quote check can notice the 30 rows that vanished into it.
    lines = [HEADER, row(2), row(3), row(4), row(5)[: -len("v5_14")] + '"v5_14']
    lines += [row(n) for n in range(6, 36)]
    path = tmp_path / "hearings.csv"
    path.write_text("\n".join(lines) + "\n")

    got = read_back(path)

    assert [r[0] for r in got.rows] == ["2", "3", "4"]
    assert [(r.row, r.rule) for r in got.rejects] == [(5, "unbalanced_quote")]
    assert "lines 5-35" in got.rejects[0].message and "end of the file" in got.rejects[0].message


def test_a_real_multi_line_notes_field_is_kept(tmp_path: Path):
    path = tmp_path / "notes.csv"
    path.write_text('ID,NOTES,CITY\n1,"first line\nsecond, line",Metro\n2,plain,Metro\n')

    got = read_back(path)

    assert got.rows == [["1", "first line\nsecond, line", "Metro"], ["2", "plain", "Metro"]]
    assert got.rejects == []


def test_a_last_field_ending_in_a_line_break_is_not_a_broken_quote(tmp_path: Path):
    path = tmp_path / "notes.csv"
    path.write_text('ID,CITY,NOTES\n1,Metro,plain\n2,Metro,"ends with a break\n"\n')

    got = read_back(path)

    assert got.rows == [["1", "Metro", "plain"], ["2", "Metro", "ends with a break\n"]]
    assert got.rejects == []
