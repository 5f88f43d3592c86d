"""Header matching and drift descriptions."""

from __future__ import annotations

from pathlib import Path

from courtfeed.config.template import Template
from courtfeed.readers.header import (
    ColumnMatch,
    describe_drift,
    describe_duplicates,
    describe_loose_matches,
    match_columns,
)


def template(fields: dict, exclude: list | None = None, **fmt) -> Template:
    return Template.model_validate({"name": "t", "format": fmt, "fields": fields, "exclude": exclude or []})


HEARINGS = {
    "client.reference": {"column": "DEF_ID", "required": True},
    "client.first_name": {"column": "DEF_FNAME"},
    "client.last_name": {"column": "DEF_LNAME", "required": True},
    "client.phone": {"column": "PHONE"},
}


def test_exact_match_resolves_every_column():
    match = match_columns(template(HEARINGS), ["DEF_ID", "DEF_FNAME", "DEF_LNAME", "PHONE"])
    assert match.resolved == {
        "DEF_ID": "DEF_ID",
        "DEF_FNAME": "DEF_FNAME",
        "DEF_LNAME": "DEF_LNAME",
        "PHONE": "PHONE",
    }
    assert match.missing == []
    assert match.new == []
    assert match.suggestions == {}


def test_exact_match_is_case_and_space_sensitive():
    match = match_columns(template(HEARINGS, match="exact"), ["def_id", "DEF_FNAME ", "DEF_LNAME", "PHONE"])
    assert match.missing == ["DEF_ID", "DEF_FNAME"]
    assert match.new == ["def_id", "DEF_FNAME "]
    assert match.suggestions == {"DEF_ID": "def_id", "DEF_FNAME": "DEF_FNAME "}


def test_relaxed_match_is_the_default_and_ignores_case_and_outer_spaces():
    match = match_columns(template(HEARINGS), ["def_id", " Def_FName ", "DEF_LNAME", "phone"])
    assert match.resolved == {
        "DEF_ID": "def_id",
        "DEF_FNAME": " Def_FName ",
        "DEF_LNAME": "DEF_LNAME",
        "PHONE": "phone",
    }
    assert match.missing == []
    assert match.new == []
    # said in the upload's message (and so its acknowledgement), by template column and position
    assert match.loosely_matched == {"DEF_ID": 1, "DEF_FNAME": 2, "PHONE": 4}
    assert describe_loose_matches(match) == (
        "header matched ignoring case or surrounding spaces: 'DEF_ID' (position 1), "
        "'DEF_FNAME' (position 2), 'PHONE' (position 4)"
    )


def test_an_exact_spelling_wins_over_a_loose_one():
    fields = {"client.reference": {"column": "ID"}}
    match = match_columns(template(fields), ["Id ", "ID"])
    assert match.resolved == {"ID": "ID"}
    assert match.loosely_matched == {}


# --- duplicate header names -----------------------------------------------


def test_two_headers_equal_but_for_case_are_a_duplicate_naming_both_positions():
    fields = {"client.reference": {"column": "ID"}}
    match = match_columns(template(fields), ["id", "NAME", "ID "])
    assert match.duplicates == {"ID": [1, 3]}
    assert describe_duplicates(match) == (
        "duplicate header: column 'ID' appears at positions 1 and 3; "
        "rename or remove one so the file says which to load"
    )


def test_the_same_header_twice_is_a_duplicate_after_the_reader_renamed_the_second():
    # The reader keeps both columns, naming the second "<name>_<position>" (readers/table.py).
    from courtfeed.readers.table import header_names

    columns = header_names(["DEF_ID", "DEF_FNAME", "DEF_LNAME", "PHONE", "DEF_ID"])
    match = match_columns(template(HEARINGS), columns)
    assert match.duplicates == {"DEF_ID": [1, 5]}
    assert "'DEF_ID' appears at positions 1 and 5" in describe_duplicates(match)


def test_a_duplicate_the_template_does_not_read_is_no_error():
    from courtfeed.readers.table import header_names

    columns = header_names(["DEF_ID", "DEF_FNAME", "DEF_LNAME", "PHONE", "NOTES", "NOTES"])
    assert match_columns(template(HEARINGS), columns).duplicates == {}


def test_a_header_that_merely_ends_in_its_position_is_no_duplicate():
    fields = {"client.reference": {"column": "CODE"}, "client.notes": {"column": "CODE_2"}}
    assert match_columns(template(fields, match="exact"), ["CODE_2", "CODE"]).duplicates == {}


def test_renamed_and_added_columns():
    match = match_columns(template(HEARINGS), ["DEF_ID", "DEF_FNAME", "DEF_LAST_NAME", "MIDDLE", "PHONE"])
    assert match.missing == ["DEF_LNAME"]
    assert match.new == ["DEF_LAST_NAME", "MIDDLE"]
    assert match.suggestions == {"DEF_LNAME": "DEF_LAST_NAME"}
    sentence = describe_drift(match, ["DEF_ID", "DEF_LNAME"])
    assert sentence == (
        "missing required column(s) 'DEF_LNAME' (closest match in the file: the column at position 3); "
        "the file has 2 column(s) the template does not know, at position(s) 3, 4"
    )


def test_no_suggestion_when_nothing_is_close():
    match = match_columns(template(HEARINGS), ["DEF_ID", "DEF_FNAME", "DEF_LNAME", "XYZ"])
    assert match.missing == ["PHONE"]
    assert match.suggestions == {}
    assert describe_drift(match, ["DEF_ID"]) == (
        "missing optional column(s) 'PHONE'; "
        "the file has 1 column(s) the template does not know, at position(s) 4"
    )


def test_suggestion_falls_back_to_used_columns_when_nothing_is_new():
    fields = {"client.reference": {"column": "DEF_ID"}, "client.notes": {"column": "DEF_IDS"}}
    match = match_columns(template(fields), ["DEF_ID"])
    assert match.missing == ["DEF_IDS"]
    assert match.suggestions == {"DEF_IDS": "DEF_ID"}


def test_exclude_rule_columns_are_matched_too():
    exclude = [{"column": "STATUS", "in": ["CLOSED"]}, {"column": "TYPE", "blank": True}]
    match = match_columns(
        template(HEARINGS, exclude, match="exact"), ["DEF_ID", "DEF_FNAME", "DEF_LNAME", "PHONE", "status"]
    )
    assert "STATUS" in match.missing and "TYPE" in match.missing
    assert match.suggestions["STATUS"] == "status"
    relaxed = match_columns(
        template(HEARINGS, exclude), ["DEF_ID", "DEF_FNAME", "DEF_LNAME", "PHONE", "status"]
    )
    assert relaxed.resolved["STATUS"] == "status"
    assert relaxed.missing == ["TYPE"]
    assert "status" not in relaxed.new


def test_positions_without_header():
    fields = {"client.reference": {"column": 1, "required": True}, "client.last_name": {"column": 3}}
    exclude = [{"column": 7, "blank": True}]
    match = match_columns(template(fields, exclude, header=False), ["1", "2", "3", "4"])
    assert match.resolved == {1: "1", 3: "3"}
    assert match.missing == [7]
    assert match.new == []  # extra trailing columns of a positional file are not drift
    assert describe_drift(match, [1]) == "missing optional column(s) position 7"
    assert describe_drift(match, [7]) == "missing required column(s) position 7"


def test_position_zero_and_beyond_width_are_missing():
    fields = {"client.reference": {"column": 0}, "client.last_name": {"column": 3}}
    match = match_columns(template(fields, header=False), ["1", "2"])
    assert match.missing == [0, 3]
    assert match.resolved == {}


def test_describe_no_drift():
    assert describe_drift(ColumnMatch(), []) == "the file's columns match the template"


# --- closest match for a missing column ------------------------------------------------------


def test_abbreviation_spelled_out_beats_a_one_letter_edit():
    # DEF_FNAME is one letter away from DEF_LNAME, but DEF_LAST_NAME spells DEF_LNAME out.
    fields = {"client.last_name": {"column": "DEF_LNAME"}}
    match = match_columns(template(fields), ["DEF_FNAME", "DEF_LAST_NAME"])
    assert match.missing == ["DEF_LNAME"]
    assert match.suggestions == {"DEF_LNAME": "DEF_LAST_NAME"}


def test_spaces_removed_from_a_header():
    fields = {"client.last_name": {"column": "Last Name"}}
    match = match_columns(template(fields), ["First Name", "Last Name Suffix", "LastName"])
    assert match.suggestions == {"Last Name": "LastName"}


def test_short_form_spelled_out():
    fields = {"event.date": {"column": "HEARING_DT"}}
    match = match_columns(template(fields), ["HEARING_ID", "HEARING_TIME", "HEARING_DATE"])
    assert match.suggestions == {"HEARING_DT": "HEARING_DATE"}


def test_long_form_shortened():
    fields = {"event.date": {"column": "HEARING_DATE"}}
    match = match_columns(template(fields), ["HEARING_DAY", "HEARING_DT"])
    assert match.suggestions == {"HEARING_DATE": "HEARING_DT"}


def test_reordered_words_beat_a_similar_spelling():
    fields = {"client.last_name": {"column": "LAST_NAME"}}
    match = match_columns(template(fields), ["FAST_NAME", "NAME_LAST"])
    assert match.suggestions == {"LAST_NAME": "NAME_LAST"}


def test_a_new_column_is_preferred_over_one_the_template_uses():
    # DEF_FNAME is mapped (first_name), so only the new columns are offered for DEF_LNAME,
    # even though DEF_FNAME is the closest spelling of all.
    match = match_columns(template(HEARINGS), ["DEF_ID", "DEF_FNAME", "PHONE", "SURNAME_TEXT", "DEF_LN"])
    assert match.missing == ["DEF_LNAME"]
    assert match.suggestions == {"DEF_LNAME": "DEF_LN"}


def test_difflib_similarity_still_suggests_a_typo():
    fields = {"case.number": {"column": "CASE_NUMBER"}}
    match = match_columns(template(fields), ["XYZ", "CASE_NUMBRE"])
    assert match.suggestions == {"CASE_NUMBER": "CASE_NUMBRE"}


def test_unrelated_new_columns_give_no_suggestion():
    fields = {"client.email": {"column": "EMAIL"}}
    match = match_columns(template(fields), ["COURTROOM", "JUDGE", "HEARING_TYPE"])
    assert match.suggestions == {}


def test_describe_drift_names_the_spelled_out_column():
    fields = {"client.first_name": {"column": "DEF_FNAME"}, "client.last_name": {"column": "DEF_LNAME"}}
    match = match_columns(template(fields), ["DEF_FNAME", "DEF_LAST_NAME"])
    assert describe_drift(match, ["DEF_LNAME"]) == (
        "missing required column(s) 'DEF_LNAME' (closest match in the file: the column at position 2); "
        "the file has 1 column(s) the template does not know, at position(s) 2"
    )


# --- a file whose header line is missing ---------------------------------

DEMO = Path(__file__).resolve().parents[2] / "include" / "demo" / "metro_hearings_20261128.txt"


def test_a_first_line_of_data_is_named_as_such_without_quoting_it():
    from courtfeed.config.files import resolve_template

    tpl = resolve_template(str(DEMO.parents[1] / "templates" / "metro_hearings.yaml"))
    first_data_line = DEMO.read_text(encoding="utf-8").splitlines()[1].split("|")
    match = match_columns(tpl, first_data_line)
    sentence = describe_drift(match, tpl.required_columns())
    assert sentence.startswith("the first line looks like data: the header line is missing")
    assert "'DEF_ID'" in sentence  # what the template expects may be named
    for value in first_data_line:
        assert value not in sentence, f"cell value {value!r} in {sentence!r}"


def test_a_renamed_header_is_not_taken_for_data():
    match = match_columns(template(HEARINGS), ["CLIENT", "FIRST", "SURNAME", "TEL"])
    assert "looks like data" not in describe_drift(match, ["DEF_ID"])


def test_drift_never_quotes_a_file_header():
    match = match_columns(template(HEARINGS), ["DEF_ID", "DEF_FNAME", "Zebulon", "555-0142"])
    sentence = describe_drift(match, ["DEF_LNAME"])
    assert "Zebulon" not in sentence and "555-0142" not in sentence
