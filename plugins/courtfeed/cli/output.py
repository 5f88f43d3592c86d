"""What `courtfeed preview`, `ingest` and `status` print for a person (--json prints the data as is).

Counts, statuses, file names, rejects (row, column, rule, message) and, only when asked for, sample
records: never a cell value otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

from courtfeed.rejects import describe_more

REJECTS_SHOWN = 50  # on screen; --json and the acknowledgement list every reject kept in full


def print_result(result: dict, show_records: int = 0) -> None:
    print(
        f"{result['file']}: {result['status']}" + (f" ({result['message']})" if result.get("message") else "")
    )
    print(
        f"  rows read {result['rows_read']}, loaded {result['rows_loaded']}, "
        f"excluded {result['rows_excluded']}, rejected {result['rows_rejected']}"
    )
    for entity, c in (result.get("counts") or {}).items():
        print("  " + entity + ": " + ", ".join(f"{k} {v}" for k, v in c.items()))
    _print_rejects(result)
    uploads = result.get("uploads") or []
    if len(uploads) > 1:
        for u in uploads:
            print(
                f"  {u['member']}: {u['status']}, read {u['rows_read']}, loaded {u['rows_loaded']}, "
                f"excluded {u['rows_excluded']}, rejected {u['rows_rejected']}"
            )
    for rec in (result.get("records") or [])[:show_records]:
        print("  sample: " + json.dumps(rec, default=str, ensure_ascii=False))


def _print_rejects(result: dict) -> None:
    rejects = result.get("rejects") or []
    more = result.get("rejects_more") or {}
    if not rejects and not more:
        return
    print(f"  rejects ({result.get('rejects_total', len(rejects)):,}):")
    for r in rejects[:REJECTS_SHOWN]:
        where = f"row {r['row']}" if r["row"] is not None else "file"
        if r.get("member"):
            where = f"{r['member']} {where}"
        print(
            f"    {where}"
            + (f", {r['column']}" if r.get("column") else "")
            + f": [{r['rule']}] {r['message']}"
        )
    if len(rejects) > REJECTS_SHOWN:
        print(f"    ... {len(rejects) - REJECTS_SHOWN:,} more listed with --json and in the acknowledgement")
    if more:
        print(f"    {describe_more(more, after_kept=bool(rejects))} (counted, not stored one by one)")


def print_status(rows: list[dict]) -> None:
    """The ledger's latest uploads as a table; below an upload, the rejects it counted but did
    not store one by one."""
    if not rows:
        print("no uploads yet")
        return
    print(
        f"{'finished (UTC)':20} {'profile':18} {'status':9} {'read':>7} {'loaded':>7} {'rejected':>8}  file"
    )
    for r in rows:
        finished = str(r.get("finished_at") or "")[:19]
        # A parked failure shows the attempts made, e.g. "failed×4".
        status = r["status"] + (f"×{r['attempts']}" if r.get("attempts") else "")
        print(
            f"{finished:20} {str(r.get('profile') or '-'):18} {status:9} {r['rows_read'] or 0:>7} "
            f"{r['rows_loaded'] or 0:>7} {r['rows_rejected'] or 0:>8}  {Path(r['path']).name}"
        )
        if r.get("rejects_more"):
            print(f"{'':20} ... {describe_more(r['rejects_more'])} (counted, not stored one by one)")
