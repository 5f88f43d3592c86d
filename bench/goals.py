"""The targets courtfeed is measured against, and which of them a bench run met.

Every ratio is taken between figures of the same `make bench` (or `make bench-burst`) run, so a
busy or a quiet machine moves both sides of it. ``evaluate(results)`` returns one row per goal
whose figures the results hold: ``{"figure", "value", "unit", "goal", "met", "detail"}``;
``met`` is None when the run did not produce the figure (a peer that failed, a section not run).
Pure functions: the unit tests feed them dictionaries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Goal:
    section: str  # the part of results.json it reads: "ingest", "rss" or "burst"
    figure: str
    goal: str  # as the reader sees it
    value: Callable[[dict], float | None]
    limit: float
    at_most: bool = True  # value <= limit; else value >= limit
    unit: str = "x"
    detail: Callable[[dict], str] = lambda _: ""
    # False: the goal is not met whatever the value (e.g. not every file of a burst loaded)
    holds: Callable[[dict], bool] = lambda _: True

    def check(self, value: float | None, results: dict | None = None) -> bool | None:
        if results is not None and not self.holds(results):
            return False
        if value is None:
            return None
        return value <= self.limit if self.at_most else value >= self.limit


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 2)


def _get(results: dict, *keys: str):
    """results[k1][k2]... or None when any step is missing."""
    value = results
    for key in keys:
        if not isinstance(value, dict) or value.get(key) is None:
            return None
        value = value[key]
    return value


def _stage(results: dict, stage: str) -> float | None:
    return _get(results, "ingest", "stage_seconds_median", stage)


def ingest_ratios(ingest: dict) -> dict[str, float | None]:
    """The ratios of one run's medians: courtfeed beside its floors and its peer."""
    stages = ingest.get("stage_seconds_median") or {}
    return {
        "courtfeed_to_schema_floor": ratio(
            ingest.get("courtfeed_seconds_median"), ingest.get("schema_floor_seconds_median")
        ),
        "courtfeed_to_dlt": ratio(ingest.get("courtfeed_seconds_median"), ingest.get("dlt_seconds_median")),
        "courtfeed_to_raw_floor": ratio(
            ingest.get("courtfeed_seconds_median"), ingest.get("floor_seconds_median")
        ),
        "fetch_to_sftp_get": ratio(stages.get("fetch"), ingest.get("sftp_get_seconds_median")),
        "load_to_schema_floor": ratio(stages.get("load"), ingest.get("schema_floor_seconds_median")),
    }


def _read_validate_map(results: dict) -> float | None:
    parts = [_stage(results, s) for s in ("read", "validate", "map")]
    return None if None in parts else round(sum(p for p in parts if p is not None), 2)


def _rss(results: dict, which: str) -> float | None:
    runs = _get(results, "rss", "runs") or {}
    if len(runs) < 2:
        return None
    sizes = sorted(runs, key=int)
    small, large = runs[sizes[0]]["peak_rss_mib"], runs[sizes[-1]]["peak_rss_mib"]
    return ratio(large, small) if which == "ratio" else large


def _rss_detail(results: dict) -> str:
    runs = _get(results, "rss", "runs") or {}
    return ", ".join(
        f"{int(k):,} rows {v['peak_rss_mib']} MiB" for k, v in sorted(runs.items(), key=lambda kv: int(kv[0]))
    )


def _rows(results: dict) -> str:
    """The file's length the stage seconds were measured at (the targets are set at 1M rows)."""
    rows = _get(results, "ingest", "rows")
    return "rows n/a" if rows is None else f"at {rows:,} rows"


def _s(results: dict, *keys: str) -> str:
    value = _get(results, *keys)
    return "n/a" if value is None else f"{value} s"


GOALS: tuple[Goal, ...] = (
    Goal(
        "ingest",
        "end to end: courtfeed / schema floor",
        "<= 1.5x the schema floor",
        lambda r: _get(r, "ingest", "ratios", "courtfeed_to_schema_floor"),
        1.5,
        detail=lambda r: (
            f"courtfeed {_s(r, 'ingest', 'courtfeed_seconds_median')}, "
            f"schema floor {_s(r, 'ingest', 'schema_floor_seconds_median')}"
        ),
    ),
    Goal(
        "ingest",
        "end to end: courtfeed / dlt",
        "<= 0.5x dlt (at least 2x faster)",
        lambda r: _get(r, "ingest", "ratios", "courtfeed_to_dlt"),
        0.5,
        detail=lambda r: (
            f"courtfeed {_s(r, 'ingest', 'courtfeed_seconds_median')}, "
            f"dlt {_s(r, 'ingest', 'dlt_seconds_median')}"
        ),
    ),
    Goal(
        "ingest",
        "fetch / sftp get",
        "<= 1.5x sftp get",
        lambda r: _get(r, "ingest", "ratios", "fetch_to_sftp_get"),
        1.5,
        detail=lambda r: (
            f"fetch {_s(r, 'ingest', 'stage_seconds_median', 'fetch')}, "
            f"sftp get {_s(r, 'ingest', 'sftp_get_seconds_median')}"
        ),
    ),
    Goal(
        "ingest",
        "load / schema floor",
        "<= 1.3x the schema floor",
        lambda r: _get(r, "ingest", "ratios", "load_to_schema_floor"),
        1.3,
        detail=lambda r: (
            f"load {_s(r, 'ingest', 'stage_seconds_median', 'load')}, "
            f"schema floor {_s(r, 'ingest', 'schema_floor_seconds_median')}"
        ),
    ),
    Goal(
        "ingest",
        "acknowledgement",
        "< 1 s at 1M rows",
        lambda r: _stage(r, "acknowledge"),
        1.0,
        unit="s",
        detail=lambda r: _rows(r),
    ),
    Goal(
        "ingest",
        "read + validate + map",
        "< 10 s at 1M rows",
        _read_validate_map,
        10.0,
        unit="s",
        detail=lambda r: (
            _rows(r)
            + ": "
            + ", ".join(
                f"{s} {_s(r, 'ingest', 'stage_seconds_median', s)}" for s in ("read", "validate", "map")
            )
        ),
    ),
    Goal(
        "rss",
        "peak RSS: largest / smallest file",
        "<= 1.5x",
        lambda r: _rss(r, "ratio"),
        1.5,
        detail=_rss_detail,
    ),
    Goal(
        "rss",
        "peak RSS: largest file",
        "< 1024 MiB",
        lambda r: _rss(r, "largest"),
        1024,
        unit="MiB",
        detail=_rss_detail,
    ),
    Goal(
        "burst",
        "burst: slowest file, landed -> loaded",
        "all loaded, each <= 300 s (5 minutes)",
        lambda r: _get(r, "burst", "landed_to_loaded_seconds", "max"),
        300,
        unit="s",
        detail=lambda r: (
            f"{_get(r, 'burst', 'loaded')} of {_get(r, 'burst', 'files')} files loaded over "
            f"{_get(r, 'burst', 'profiles')} profiles"
        ),
        holds=lambda r: _get(r, "burst", "loaded") == _get(r, "burst", "files"),
    ),
    Goal(
        "burst",
        "burst: task-seconds per file / Airflow's empty-shape floor",
        "<= 1.5x the floor",
        lambda r: ratio(
            _get(r, "burst", "task_seconds_per_file"), _get(r, "burst", "floor", "task_seconds_per_file")
        ),
        1.5,
        detail=lambda r: (
            f"courtfeed {_get(r, 'burst', 'task_seconds_per_file')} s, "
            f"empty tasks {_get(r, 'burst', 'floor', 'task_seconds_per_file')} s"
        ),
    ),
)


def evaluate(results: dict) -> list[dict]:
    """One row per goal whose section ("ingest", "rss", "burst") the results hold."""
    rows = []
    for goal in GOALS:
        if goal.section not in results:
            continue
        value = goal.value(results)
        rows.append(
            {
                "figure": goal.figure,
                "value": value,
                "unit": goal.unit,
                "goal": goal.goal,
                "met": goal.check(value, results),
                "detail": goal.detail(results),
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    """The goals as a Markdown table, for the printed summary."""
    lines = ["| figure | value | goal | met | from |", "|---|---|---|---|---|"]
    for row in rows:
        value = (
            "n/a"
            if row["value"] is None
            else f"{row['value']}{'' if row['unit'] == 'x' else ' '}{row['unit']}"
        )
        met = {True: "yes", False: "NO", None: "not measured"}[row["met"]]
        lines.append(f"| {row['figure']} | {value} | {row['goal']} | {met} | {row['detail']} |")
    return "\n".join(lines)
