"""What a load tells downstream DAGs: one asset event per entity it wrote.

Each profile's load task has an outlet asset per entity of its template and agency
(``courtfeed.<agency>.<entity>``); its event carries the counts summed over the delivery's
uploads, so a downstream DAG can be scheduled on e.g. "metro-county events changed" and read
how many. Plain data in, plain data out: the task hands the result to Airflow's outlet events.

Airflow shows an asset's events to whoever may read assets, whatever DAGs they may read, so an
event carries upload ids (opaque UUIDs), statuses and counts, and the file's name only where the
profile says ``asset_events_name_files: true``. The folder watch's landing events are built in
``courtfeed.dagfactory.watcher.event_payload``.
"""

from __future__ import annotations

from collections.abc import Iterable

COUNTED = ("created", "updated", "unchanged", "deleted")


def asset_event_extras(
    results: list[dict], entities: Iterable[str], name_files: bool = False
) -> dict[str, dict]:
    """Per entity some upload of ``results`` wrote (and the DAG has an asset for), its event's extra.

    ``results`` are the load stage's payloads of one delivery (``upload_id``, ``status``,
    ``path``, per-entity ``counts``). An entity no upload wrote gets no event. ``name_files``
    adds the delivered file's name (never its folder).
    """
    wanted = set(entities)
    totals: dict[str, dict] = {}
    for result in results:
        for entity, counts in (result.get("counts") or {}).items():
            if entity not in wanted:
                continue
            agg = totals.setdefault(entity, {"uploads": [], **dict.fromkeys(COUNTED, 0)})
            agg["uploads"].append(result["upload_id"])
            for key in COUNTED:
                agg[key] += int(counts.get(key, 0))
    if not totals:
        return {}
    shared = {"status": ",".join(sorted({str(r["status"]) for r in results}))}
    if name_files:
        shared = {"file": results[0]["path"].rsplit("/", 1)[-1], **shared}
    return {entity: {**shared, **agg} for entity, agg in totals.items()}
