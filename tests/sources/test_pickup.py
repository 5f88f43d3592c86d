"""Which files a cycle takes: filters, minimum age, in-progress names, stability, ledger, cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from courtfeed.config.profile import Source
from courtfeed.sources.base import RemoteFile
from courtfeed.sources.pickup import forced_files, select_new

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def rf(path: str, size: int = 10, age: int = 3600) -> RemoteFile:
    return RemoteFile(path, size, NOW - timedelta(seconds=age))


def src(**kw) -> Source:
    return Source(connection="c", directory="/in", **kw)


def seen(files):
    return {f.path: (f.size, f.mtime) for f in files}


def test_keywords_blockwords_patterns_case_insensitive():
    files = [
        rf("/in/Hearings_1.txt"),
        rf("/in/hearings_TEST.txt"),
        rf("/in/payments.txt"),
        rf("/in/hearing.xlsx"),
    ]
    sel = select_new(
        files,
        src(keywords=["HEARING"], blockwords=["test"], patterns=["*.txt"]),
        now=NOW,
        processed=set(),
        previous_look=seen(files),
    )
    assert [f.path for f in sel.take] == ["/in/Hearings_1.txt"]
    assert sel.skipped == {"blockword": 1, "no_keyword": 1, "no_pattern": 1}


def test_in_progress_hidden_and_young_files_wait():
    files = [
        rf("/in/a.csv.part"),
        rf("/in/b.filepart"),
        rf("/in/c.tmp"),
        rf("/in/.d.csv"),
        rf("/in/e.csv~"),
        rf("/in/young.csv", age=5),
        rf("/in/ok.csv"),
    ]
    sel = select_new(files, src(min_age_seconds=60), now=NOW, processed=set(), previous_look=seen(files))
    assert [f.path for f in sel.take] == ["/in/ok.csv"]
    assert [f.path for f in sel.waiting] == ["/in/young.csv"]


def test_a_file_must_look_the_same_twice():
    first = [rf("/in/a.csv", size=100)]
    assert select_new(first, src(), now=NOW, processed=set(), previous_look={}).take == []
    grown = [rf("/in/a.csv", size=200)]
    assert select_new(grown, src(), now=NOW, processed=set(), previous_look=seen(first)).take == []
    assert select_new(grown, src(), now=NOW, processed=set(), previous_look=seen(grown)).take == grown


def test_ledger_identities_are_skipped_but_a_changed_file_is_taken():
    old = rf("/in/a.csv", size=100)
    changed = rf("/in/a.csv", size=120)
    processed = {(old.path, old.size, old.mtime)}
    assert select_new([old], src(), now=NOW, processed=processed, previous_look=seen([old])).take == []
    assert select_new([changed], src(), now=NOW, processed=processed, previous_look=seen([changed])).take == [
        changed
    ]


def test_old_timestamps_are_still_found():
    ancient = RemoteFile("/in/late.csv", 5, datetime(2019, 1, 1, tzinfo=UTC))
    assert select_new([ancient], src(), now=NOW, processed=set(), previous_look=seen([ancient])).take == [
        ancient
    ]


def test_done_marker_required():
    files = [rf("/in/a.csv"), rf("/in/b.csv"), rf("/in/b.csv.done")]
    sel = select_new(files, src(done_marker=".done"), now=NOW, processed=set(), previous_look=seen(files))
    assert [f.path for f in sel.take] == ["/in/b.csv"]


def test_order_and_cap():
    files = [rf(f"/in/f{i}.csv", age=1000 - i) for i in range(5)]
    sel = select_new(
        files,
        src(max_files_per_run=3),
        now=NOW,
        processed=set(),
        previous_look=seen(files),
        order="descending",
    )
    assert [f.name for f in sel.take] == ["f4.csv", "f3.csv", "f2.csv"]
    assert sel.deferred == 2


def test_forced_files_by_path_or_name():
    files = [rf("/in/a.csv"), rf("/in/sub/b.csv")]
    found, missing = forced_files(["/in/a.csv", "b.csv", "nope.csv"], files)
    assert [f.path for f in found] == ["/in/a.csv", "/in/sub/b.csv"]
    assert missing == ["nope.csv"]


def test_arrival_window_and_reprocess():
    files = [rf("/in/a.csv", age=7200), rf("/in/b.csv", age=3600), rf("/in/c.csv", age=60)]
    processed = {(f.path, f.size, f.mtime) for f in files}
    since, until = NOW - timedelta(seconds=5000), NOW - timedelta(seconds=100)
    sel = select_new(
        files,
        src(min_age_seconds=0),
        now=NOW,
        processed=processed,
        previous_look=seen(files),
        arrived_since=since,
        arrived_until=until,
    )
    assert sel.take == [] and sel.skipped["outside_window"] == 2
    again = select_new(
        files,
        src(min_age_seconds=0),
        now=NOW,
        processed=processed,
        previous_look={},
        arrived_since=since,
        arrived_until=until,
        reprocess=True,
    )
    assert [f.name for f in again.take] == ["b.csv"]


def test_backfill_window_comes_from_the_data_interval():
    from courtfeed.dagfactory.tasks import arrival_window

    start, end = datetime(2026, 11, 27, 6, tzinfo=UTC), datetime(2026, 11, 28, 6, tzinfo=UTC)
    assert arrival_window({}, "America/Chicago", "backfill", (start, end)) == (start, end, False)
    assert arrival_window({}, "America/Chicago", "scheduled", (start, end)) == (None, None, False)
    since, until, again = arrival_window(
        {"arrived_since": "2026-11-20", "reprocess": True}, "America/Chicago", "backfill", (start, end)
    )
    assert since == datetime(2026, 11, 20, 6, tzinfo=UTC) and until is None and again is True
