"""The goal table of `make bench`: which target each figure is held to and whether this run met it.

Pure: results dictionaries shaped as bench/run.py and bench/burst.py write them. No timing here.
"""

from __future__ import annotations

import pytest

from bench.goals import evaluate, ingest_ratios, table


def ingest(**over) -> dict:
    base = {
        "sftp_get_seconds_median": 2.0,
        "floor_seconds_median": 10.0,
        "schema_floor_seconds_median": 20.0,
        "courtfeed_seconds_median": 28.0,
        "dlt_seconds_median": 70.0,
        "stage_seconds_median": {
            "fetch": 2.5,
            "read": 3.0,
            "validate": 4.0,
            "map": 2.0,
            "load": 25.0,
            "acknowledge": 0.4,
        },
    }
    base.update(over)
    base["ratios"] = ingest_ratios(base)
    return base


def rows_by_figure(results: dict) -> dict[str, dict]:
    return {row["figure"]: row for row in evaluate(results)}


def test_ratios_are_taken_between_figures_of_the_same_run():
    ratios = ingest()["ratios"]

    assert ratios == {
        "courtfeed_to_schema_floor": 1.4,
        "courtfeed_to_dlt": 0.4,
        "courtfeed_to_raw_floor": 2.8,
        "fetch_to_sftp_get": 1.25,
        "load_to_schema_floor": 1.25,
    }


def test_each_ingest_figure_is_held_to_its_target():
    rows = rows_by_figure({"ingest": ingest()})

    assert {name: (row["value"], row["met"]) for name, row in rows.items()} == {
        "end to end: courtfeed / schema floor": (1.4, True),
        "end to end: courtfeed / dlt": (0.4, True),
        "fetch / sftp get": (1.25, True),
        "load / schema floor": (1.25, True),
        "acknowledgement": (0.4, True),
        "read + validate + map": (9.0, True),
    }
    assert rows["end to end: courtfeed / dlt"]["goal"] == "<= 0.5x dlt (at least 2x faster)"


@pytest.mark.parametrize(
    ("over", "figure"),
    [
        ({"courtfeed_seconds_median": 31.0}, "end to end: courtfeed / schema floor"),  # 1.55x
        ({"dlt_seconds_median": 50.0}, "end to end: courtfeed / dlt"),  # only 1.8x faster
        ({"sftp_get_seconds_median": 1.6}, "fetch / sftp get"),  # 1.56x
    ],
)
def test_a_figure_past_its_target_is_not_met(over: dict, figure: str):
    assert rows_by_figure({"ingest": ingest(**over)})[figure]["met"] is False


def test_stage_targets_are_absolute_seconds():
    stages = {"fetch": 2.5, "read": 4.0, "validate": 4.0, "map": 2.5, "load": 27.0, "acknowledge": 1.2}
    rows = rows_by_figure({"ingest": ingest(stage_seconds_median=stages)})

    assert rows["read + validate + map"]["value"] == 10.5
    assert rows["read + validate + map"]["met"] is False
    assert rows["acknowledgement"]["met"] is False
    assert rows["load / schema floor"]["value"] == 1.35
    assert rows["load / schema floor"]["met"] is False


def test_a_peer_that_did_not_run_is_not_measured_rather_than_met():
    results = {"ingest": ingest(dlt_seconds_median=None)}

    row = rows_by_figure(results)["end to end: courtfeed / dlt"]

    assert (row["value"], row["met"]) == (None, None)
    assert "not measured" in table(evaluate(results))


def test_peak_rss_compares_the_largest_file_with_the_smallest():
    runs = {"5000000": {"peak_rss_mib": 700}, "500000": {"peak_rss_mib": 500}}
    rows = rows_by_figure({"rss": {"runs": runs}})

    assert rows["peak RSS: largest / smallest file"]["value"] == 1.4
    assert rows["peak RSS: largest / smallest file"]["met"] is True
    assert rows["peak RSS: largest file"]["value"] == 700

    runs["5000000"]["peak_rss_mib"] = 1100
    rows = rows_by_figure({"rss": {"runs": runs}})
    assert rows["peak RSS: largest / smallest file"]["met"] is False
    assert rows["peak RSS: largest file"]["met"] is False


def burst(**over) -> dict:
    base = {
        "files": 200,
        "profiles": 20,
        "loaded": 200,
        "landed_to_loaded_seconds": {"p50": 60.0, "p95": 200.0, "max": 280.0},
        "task_seconds_per_file": 12.0,
        "floor": {"task_seconds_per_file": 9.0},
    }
    base.update(over)
    return base


def test_burst_goals_need_every_file_loaded_in_time_and_task_time_near_the_floor():
    rows = rows_by_figure({"burst": burst()})
    slowest = rows["burst: slowest file, landed -> loaded"]
    task = rows["burst: task-seconds per file / Airflow's empty-shape floor"]

    assert (slowest["value"], slowest["met"]) == (280.0, True)
    assert (task["value"], task["met"]) == (1.33, True)

    assert rows_by_figure({"burst": burst(task_seconds_per_file=14.0)})[task["figure"]]["met"] is False
    late = burst(landed_to_loaded_seconds={"p50": 60.0, "p95": 200.0, "max": 301.0})
    assert rows_by_figure({"burst": late})[slowest["figure"]]["met"] is False
    # a file never loaded fails the goal, however fast the others were
    assert rows_by_figure({"burst": burst(loaded=199)})[slowest["figure"]]["met"] is False


def test_only_the_sections_a_run_has_get_rows():
    assert {row["figure"].split(":")[0] for row in evaluate({"burst": burst()})} == {"burst"}
    assert evaluate({}) == []
