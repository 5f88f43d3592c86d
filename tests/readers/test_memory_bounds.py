"""Memory stays flat in the file's shape: rejects are flushed, batches are cut by bytes, and an
Excel sheet whose declared range is absurd is streamed instead of allocated.

The peak tests run the real stages in a subprocess on files generated here and read the child's
own high-water mark (VmHWM in /proc/self/status). Not ru_maxrss: Linux carries the forking
parent's peak over exec into the child's ru_maxrss, so a large pytest process would be counted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from bench.generate import generate_ragged
from courtfeed.readers import table
from tests.readers.conftest import read_back

REPO = Path(__file__).resolve().parents[2]
PEAK_LIMIT_MIB = 400
RAGGED_LINES = 3_000_000
KEPT = 10_000  # the templates' default rejects_kept


def peak_mib(script: str, *args: object) -> tuple[int, str]:
    """(peak RSS in MiB, stdout) of `python -c script args` run from the repository root."""
    code = (
        "import sys\n"
        + textwrap.dedent(script)
        + "\nhwm = next(line for line in open('/proc/self/status') if line.startswith('VmHWM:'))"
        + "\nprint('PEAK', int(hwm.split()[1]) // 1024)\n"
    )
    # A clean environment: Airflow or courtfeed settings that other tests left in os.environ must
    # not change what the child imports (and so its peak).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "COURTFEED", "_AIRFLOW"))}
    proc = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=900,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    peak = int(proc.stdout.rsplit("PEAK", 1)[1])
    return peak, proc.stdout


def test_rejects_are_handed_out_before_a_batch_fills(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(table, "MAX_PENDING_REJECTS", 10)
    path = tmp_path / "ragged.txt"
    path.write_text("A|B|C\n" + "x\n" * 95 + "1|2|3\n" + "y\n" * 5, encoding="utf-8")

    back = read_back(path, batch_rows=1000)

    assert len(back.rejects) == 100
    assert [r.row for r in back.rejects] == [*range(2, 97), *range(98, 103)]
    assert back.numbers == [97]
    assert back.rows == [["1", "2", "3"]]


def test_batches_are_cut_by_bytes_as_well_as_rows(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(table, "MAX_BATCH_BYTES", 10_000)
    path = tmp_path / "wide.csv"
    cell = "z" * 3_000
    path.write_text("A,B\n" + "".join(f"{i},{cell}\n" for i in range(10)), encoding="utf-8")

    back = read_back(path, batch_rows=1000)

    assert back.batch_sizes == [4, 4, 2]  # 3,001+ bytes a row: the fourth row crosses 10,000
    assert back.numbers == list(range(2, 12))
    assert all(row[1] == cell for row in back.rows)


def test_a_3_million_line_ragged_file_stays_under_400_mib(tmp_path: Path):
    path = generate_ragged(tmp_path / "ragged.txt", RAGGED_LINES)  # 6 MB: every line is one field short
    workdir = tmp_path / "work"

    peak, out = peak_mib(
        """
        from pathlib import Path
        from courtfeed.config.template import Template
        from courtfeed.pipeline.acknowledge import acknowledgement
        from courtfeed.pipeline.read import read_stage
        from courtfeed.pipeline.run import local_work
        template = Template.model_validate(
            {"name": "ragged", "format": {"delimiter": "|"}, "fields": {"client.reference": {"column": "A"}}}
        )
        work = read_stage(local_work(Path(sys.argv[1]), template, Path(sys.argv[2]), agency="a"), template)
        ack = acknowledgement(work)
        print("READ", work.rows_read, ack["rejects_total"], len(ack["rejects"]), ack["rejects"][0]["row"])
        print("MORE", ack["rejects_more"])
        """,
        path,
        workdir,
    )

    assert "READ 3000000 3000000 10000 2" in out
    assert "MORE {'ragged_row': 2990000}" in out
    assert peak < PEAK_LIMIT_MIB, f"peak {peak} MiB"


def test_an_xlsx_with_a_cell_at_a1048576_stays_under_400_mib(tmp_path: Path):
    import openpyxl

    path = tmp_path / "jurors.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([f"COL_{i}" for i in range(1, 11)])
    for row in range(5):
        sheet.append([f"J{row}", *[f"v{row}{i}" for i in range(2, 11)]])
    sheet["A1048576"] = "stray"  # the used range now reaches the last row Excel has
    book.save(path)
    template = tmp_path / "jurors.yaml"
    template.write_text(
        "name: jurors\nformat: {type: excel}\nreject_threshold: 1\n"
        "fields:\n  client.reference: {column: COL_1, required: true}\n  client.last_name: {column: COL_2}\n",
        encoding="utf-8",
    )

    peak, out = peak_mib(
        """
        import json
        from pathlib import Path
        from courtfeed.config.files import load_template_file
        from courtfeed.pipeline.run import preview
        result = preview(Path(sys.argv[1]), load_template_file(Path(sys.argv[2])))
        print("PREVIEW", result["rows_read"], [r["row"] for r in result["rejects"]])
        """,
        path,
        template,
    )

    # the stray cell's row has no value under COL_2 and is read like any other row
    assert "PREVIEW 6 []" in out
    assert peak < PEAK_LIMIT_MIB, f"peak {peak} MiB"


def _stage_peak(tmp_path: Path, rows: int) -> tuple[int, str]:
    """Peak of the read and validate stages over a generated pipe file of ``rows`` rows, whose
    template has only row-local expectations (not null, a regex)."""
    path = tmp_path / f"hearings_{rows}.txt"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("DEF_ID|DEF_LNAME|CASE_NO|HEARING_DATE|COURTROOM|NOTES\n")
        fh.writelines(
            f"D{i:08d}|Name{i % 977}|24-CR-{i}|03/{1 + i % 28:02d}/2026|Room {i % 40}|{'x' * (i % 30)}\n"
            for i in range(rows)
        )
    template = tmp_path / "flat.yaml"
    template.write_text(
        "name: flat\nformat: {delimiter: '|'}\nreject_threshold: 1\n"
        "fields:\n"
        "  client.reference: {column: DEF_ID, required: true}\n"
        "  client.last_name: {column: DEF_LNAME, required: true}\n"
        "  case.number: {column: CASE_NO, required: true}\n"
        "expectations:\n"
        "  - {type: expect_column_values_to_match_regex, kwargs: {column: CASE_NO, regex: '^[0-9]{2}-[A-Z]{2}-[0-9]+$'}}\n",
        encoding="utf-8",
    )
    return peak_mib(
        """
        from pathlib import Path
        from courtfeed.config.files import load_template_file
        from courtfeed.pipeline.read import read_stage
        from courtfeed.pipeline.run import local_work
        from courtfeed.pipeline import validate
        validate.PART_ROWS = 50_000  # many parts in both files: flat means flat over parts too
        template = load_template_file(Path(sys.argv[2]))
        work = read_stage(local_work(Path(sys.argv[1]), template, Path(sys.argv[3]), agency="a"), template)
        work = validate.validate_stage(work, template)
        print("STAGES", work.rows_read, work.status)
        """,
        path,
        template,
        tmp_path / f"work_{rows}",
    )


def test_read_and_row_rules_stay_flat_in_the_files_length(tmp_path: Path):
    # Before: Arrow's streaming CSV reader held what it had read ahead, and GX got every row of
    # the columns in one frame; 8x the rows then cost hundreds of MiB more.
    small, out_small = _stage_peak(tmp_path, 200_000)
    large, out_large = _stage_peak(tmp_path, 1_600_000)

    assert "STAGES 200000 None" in out_small and "STAGES 1600000 None" in out_large
    assert large - small < 60, f"200,000 rows peaked at {small} MiB, 1,600,000 at {large} MiB"


def test_ingest_of_3_million_ragged_lines_stays_under_400_mib_and_stores_the_first_10000(
    tmp_path: Path, target_url: str
):
    """`courtfeed ingest --json` in its own process, into SQLite and PostgreSQL: before, the load
    stage and the acknowledgement read every reject into a sorted list (1.4 GB)."""
    import sqlalchemy as sa

    path = generate_ragged(tmp_path / "ragged.txt", RAGGED_LINES)
    template = tmp_path / "ragged.yaml"
    template.write_text('name: ragged\nformat: {delimiter: "|"}\nfields:\n  client.reference: {column: A}\n')

    peak, out = peak_mib(
        """
        from courtfeed.cli import main
        code = main(["ingest", sys.argv[1], "--template", sys.argv[2], "--target", sys.argv[3], "--json"])
        print("EXIT", code)
        """,
        path,
        template,
        target_url,
    )

    assert peak < PEAK_LIMIT_MIB, f"peak {peak} MiB"
    result = json.loads(out[: out.index("\nEXIT ")])
    assert "EXIT 2" in out and result["status"] == "rejected"  # far over the reject threshold
    assert (result["rows_rejected"], result["rejects_total"]) == (RAGGED_LINES, RAGGED_LINES)
    assert [r["row"] for r in result["rejects"]] == list(range(2, KEPT + 2))
    assert result["rejects_more"] == {"ragged_row": RAGGED_LINES - KEPT}
    engine = sa.create_engine(target_url)
    with engine.connect() as conn:
        upload = conn.execute(sa.text("SELECT id, rows_rejected, rejects_more FROM uploads")).one()
        stored = conn.execute(
            sa.text("SELECT row, rule FROM upload_rejects WHERE upload_id = :u ORDER BY id"), {"u": upload.id}
        ).all()
    engine.dispose()
    assert upload.rows_rejected == RAGGED_LINES
    assert [row for row, _ in stored] == list(range(2, KEPT + 2))
    assert {rule for _, rule in stored} == {"ragged_row"}
    assert json.loads(upload.rejects_more) == {"ragged_row": RAGGED_LINES - KEPT}
    assert len(stored) + sum(json.loads(upload.rejects_more).values()) == upload.rows_rejected
