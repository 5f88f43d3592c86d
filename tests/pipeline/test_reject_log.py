"""The reject log of a file's stages: the first rejects_kept in reading order in full, per-rule
counts for the rest, the distinct rows rejected, and the same bound on a delivery's aggregate."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from courtfeed.pipeline.reject_log import (
    RejectWriter,
    count_rejected_rows,
    read_rejects,
    rejected_row_numbers,
    write_rejects,
)
from courtfeed.pipeline.run import combined_rejects
from courtfeed.pipeline.work import FileWork
from courtfeed.rejects import Reject, describe_more


def work_in(folder: Path) -> FileWork:
    return FileWork(
        upload_id="u1",
        name="f.txt",
        path="/in/f.txt",
        local_path=str(folder / "f.txt"),
        workdir=str(folder / "staging"),
        template="t",
        agency="a",
    )


def reference(stages: dict[str, list[Reject]], kept: int) -> tuple[list[Reject], dict[str, int]]:
    """What the log must give: every reject, stage after stage, sorted stably in reading order
    (file-level first, then by row); the first ``kept`` of them, and the rest counted per rule."""
    everything = [r for stage in ("read", "validate", "map") for r in stages.get(stage, [])]
    ordered = sorted(everything, key=lambda r: (r.row is not None, r.row or 0))
    return ordered[:kept], dict(Counter(r.rule for r in ordered[kept:]))


def random_rejects(rnd: random.Random, n: int, rules: list[str]) -> list[Reject]:
    rows = [None if rnd.random() < 0.02 else rnd.randrange(2, n) for _ in range(n)]
    return [Reject(row, "COL", rnd.choice(rules), f"problem {i}") for i, row in enumerate(rows)]


@pytest.mark.parametrize("kept", [0, 1, 7, 250, 5_000])
@pytest.mark.parametrize("seed", [1, 2])
def test_the_first_kept_in_reading_order_over_stages_and_the_rest_per_rule(tmp_path, kept, seed):
    rnd = random.Random(seed)
    work = work_in(tmp_path)
    stages = {
        "read": random_rejects(rnd, 1_200, ["ragged_row"]),
        "validate": random_rejects(rnd, 900, ["expect_column_values_to_match_regex", "required"]),
        "map": random_rejects(rnd, 700, ["type:date", "required"]),
    }
    for stage, rejects in stages.items():
        with RejectWriter(work, stage, kept) as writer:
            cut = 0
            while cut < len(rejects):  # batches of uneven size, as readers hand them out
                step = rnd.randrange(1, 200)
                writer.add(iter(rejects[cut : cut + step]))
                cut += step

    stored = read_rejects(work)

    want_kept, want_more = reference(stages, kept)
    assert stored.kept == want_kept
    assert stored.more == want_more
    assert (
        stored.total == sum(len(r) for r in stages.values()) == len(stored.kept) + sum(stored.more.values())
    )
    assert len(stored.kept) == min(kept, stored.total)


def test_a_ragged_file_keeps_its_first_rows_and_counts_the_rest(tmp_path):
    work = work_in(tmp_path)
    with RejectWriter(work, "read", 10) as writer:
        for start in range(2, 100_002, 10_000):
            writer.add(
                Reject(row, None, "ragged_row", "row has 1 fields, the header has 3")
                for row in range(start, start + 10_000)
            )
        writer.add([Reject(None, None, "min_rows", "too few rows")])  # file-level: always first

    stored = read_rejects(work)

    assert [r.row for r in stored.kept] == [None, *range(2, 11)]
    assert stored.more == {"ragged_row": 99_991}
    assert describe_more(stored.more) == "and 99,991 more ragged_row"
    assert count_rejected_rows(work) == 100_000
    # the full log on disk is the kept ones only; the rows file is 8 bytes a row reject
    assert sum(1 for _ in (Path(work.workdir) / "rejects.read.jsonl").open()) == 10
    assert (Path(work.workdir) / "rejects.read.rows").stat().st_size == 8 * 100_000


def test_distinct_rows_count_once_across_rules_and_stages(tmp_path):
    work = work_in(tmp_path)
    write_rejects(
        work, "validate", [Reject(5, "A", "r1", "m"), Reject(5, "B", "r2", "m"), Reject(9, "A", "r1", "m")]
    )
    write_rejects(work, "map", [Reject(12, "C", "type:date", "m"), Reject(12, "D", "type:date", "m")])
    write_rejects(work, "read", [Reject(None, None, "file", "m"), Reject(3, None, "ragged_row", "m")])

    assert count_rejected_rows(work) == 4  # rows 3, 5, 9 and 12
    assert rejected_row_numbers(work, ("validate",)).tolist() == [5, 9]


@pytest.mark.parametrize(
    ("batches", "distinct"),
    [
        ([[2, 3, 3], [3, 4], [], [4, 9]], 4),  # in order, repeats across batches: counted as they come
        ([[9, 3, 3], [7]], 3),  # out of order: sorted from the .rows file
        ([[2, 5], [4, 5, 6]], 4),  # in order until a later batch goes back
    ],
)
def test_one_stage_counts_its_distinct_rows_in_or_out_of_order(tmp_path, batches, distinct):
    work = work_in(tmp_path)
    with RejectWriter(work, "validate", 1) as writer:
        for rows in batches:
            writer.add([Reject(row, "A", "r", "m") for row in rows] + [Reject(None, "A", "f", "m")])

    assert count_rejected_rows(work) == distinct
    assert rejected_row_numbers(work, ("validate",)).tolist() == sorted({r for rows in batches for r in rows})


def test_a_retried_stage_starts_its_log_afresh(tmp_path):
    work = work_in(tmp_path)
    with RejectWriter(work, "map", 2) as writer:
        writer.add(Reject(row, "C", "type:date", "m") for row in range(2, 50))
    with RejectWriter(work, "map", 2) as writer:
        writer.add([Reject(7, "C", "required", "m")])

    stored = read_rejects(work)

    assert [(r.row, r.rule) for r in stored.kept] == [(7, "required")]
    assert stored.more == {} and count_rejected_rows(work) == 1


def test_a_delivery_keeps_the_first_rejects_of_its_payloads_and_counts_the_rest():
    results = [
        {
            "member": "a.txt",
            "rejects": [{"row": r, "rule": "ragged_row"} for r in (2, 3, 4)],
            "rejects_more": {"ragged_row": 10},
        },
        {
            "member": "b.txt",
            "rejects": [{"row": r, "rule": "required"} for r in (2, 5)],
            "rejects_more": {"required": 1},
        },
    ]

    rejects, more = combined_rejects(results, kept=4)

    assert [(r["member"], r["row"]) for r in rejects] == [
        ("a.txt", 2),
        ("a.txt", 3),
        ("a.txt", 4),
        ("b.txt", 2),
    ]
    assert more == {"ragged_row": 10, "required": 2}
    assert list(more) == ["ragged_row", "required"]  # most frequent first


def test_describe_more_reads_as_a_sentence():
    assert describe_more({}) == ""
    assert (
        describe_more({"required": 3, "ragged_row": 2_990_000})
        == "and 2,990,000 more ragged_row, 3 more required"
    )
    assert describe_more({"ragged_row": 5}, after_kept=False) == "5 more ragged_row"
