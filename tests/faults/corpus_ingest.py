"""Ingest every file of a folder with `courtfeed ingest`'s code path, in one process, and print
one JSON line per file: its status and message, or the traceback when one escaped. Run by
test_malformed_corpus.py in a subprocess so its peak memory can be measured on its own."""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

from courtfeed.config.files import load_template_file
from courtfeed.pipeline.run import ingest


def main() -> None:
    folder, template_path, target = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    template = load_template_file(template_path)
    for path in sorted(folder.iterdir()):
        try:
            out = ingest(path, template, target, agency="metro", max_unpacked_mb=64)
            result = {"file": path.name, "status": out["status"], "message": out.get("message") or ""}
            result["uploads"] = [u["upload_id"] for u in out.get("uploads") or [out]]
        except BaseException:  # noqa: BLE001 - the test fails on any escaped exception
            result = {"file": path.name, "traceback": traceback.format_exc()}
        print("RESULT " + json.dumps(result), flush=True)
    # This process's own peak; ru_maxrss would include the parent's peak, carried over exec.
    hwm = next(
        line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:")
    )
    print(f"PEAK_KIB {int(hwm.split()[1])}", flush=True)


if __name__ == "__main__":
    main()
