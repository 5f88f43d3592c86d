"""courtfeed.privacy: what is kept of an exception whose text may quote a row."""

from __future__ import annotations

from courtfeed.privacy import ValueFreeError, describe_exception, value_free


class _Orig(Exception):
    pgcode = "P0001"


class _DbError(Exception):
    def __init__(self, text: str):
        super().__init__(text)
        self.orig = _Orig(text)


def test_value_free_keeps_the_class_and_sqlstate_only():
    exc = _DbError("client Evander Fairweather born 1960-01-10 refused\nDETAIL: Key (ref)=(D7) exists")
    assert value_free(exc) == "_DbError (SQLSTATE P0001)"
    assert value_free(ValueError("Fairweather")) == "ValueError"


def test_a_database_error_has_one_name_whichever_way_it_was_raised():
    # A load branch's own driver cursor raises psycopg2's class (CheckViolation); the same
    # failure through SQLAlchemy is its IntegrityError. Which one a file meets depends on the
    # order files of one agency load in, so both are named by their standard (PEP 249) class.
    import psycopg2.errors
    import sqlalchemy.exc

    for driver_error, standard in (
        (psycopg2.errors.CheckViolation, "IntegrityError"),
        (psycopg2.errors.InvalidDatetimeFormat, "DataError"),
        (psycopg2.errors.SerializationFailure, "OperationalError"),
    ):
        raw = driver_error("Fairweather")
        wrapped = sqlalchemy.exc.DBAPIError.instance("INSERT ...", {}, raw, psycopg2.Error)
        assert value_free(raw) == value_free(wrapped) == standard
        # and an alert about it says the same name as the ledger
        assert describe_exception(raw).split(":")[0] == describe_exception(wrapped).split(":")[0] == standard


def test_a_value_free_error_is_described_as_written():
    # courtfeed's own errors are built from value-free parts, so alerts show them in full
    text = describe_exception(ValueFreeError("upload u1: load failed: _DbError (SQLSTATE P0001)"))
    assert text == "ValueFreeError: upload u1: load failed: _DbError (SQLSTATE P0001)"


def test_a_foreign_error_is_scrubbed():
    text = describe_exception(RuntimeError("duplicate key 'Fairweather' phone (312) 555-5000 x@y.example"))
    assert "Fairweather" not in text and "555" not in text and "x@y.example" not in text
