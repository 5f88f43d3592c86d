"""A ledger filled by the real pipeline, and the include/ folder it was filled from.

The demo files of include/demo are ingested with their profiles, then two files built here:
a hearings export with one bad case number (a partial upload with a reject) and a payments
export where half the amounts are not numbers (over the threshold: rejected, nothing loaded).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from courtfeed.config.files import load_profile_file, resolve_template
from courtfeed.pipeline.run import ingest

REPO = Path(__file__).resolve().parents[2]

# Row values planted in the bad files: they must never show on a page.
BAD_CASE_NUMBER = "BAD-CASE-XYZ"
BAD_AMOUNT = "lots-of-money"
BAD_ROW_LAST_NAME = "Zyxwvutsrq"
PAYMENTS_REJECTS_KEPT = 2


@dataclass
class DemoLedger:
    target_url: str
    include: Path
    results: dict[str, dict] = field(default_factory=dict)  # file name -> ingest result
    profile_of: dict[str, str] = field(default_factory=dict)  # file name -> profile name
    bad_row: int = 0  # spreadsheet row of the planted bad case number


def copy_include(destination: Path) -> Path:
    for part in ("profiles", "templates", "expectations"):
        if (REPO / "include" / part).is_dir():
            shutil.copytree(REPO / "include" / part, destination / part)
    return destination


def hearings_with_bad_case_number(folder: Path) -> tuple[Path, int]:
    """The demo hearings export with one case number that breaks the template's pattern.

    Returns the file and the spreadsheet row number of the bad row (the header is row 1).
    """
    lines = (REPO / "include/demo/metro_hearings_20261128.txt").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("|")
    bad_line = 4
    values = lines[bad_line].split("|")
    values[header.index("CASE_NO")] = BAD_CASE_NUMBER
    values[header.index("DEF_LNAME")] = BAD_ROW_LAST_NAME
    lines[bad_line] = "|".join(values)
    path = folder / "metro_hearings_20261129.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, bad_line + 1


def payments_mostly_unreadable(folder: Path) -> Path:
    rows = ["Payment ID,Defendant ID,Case Number,Amount Due,Due Date,Status,Notes"]
    for i in range(10):
        amount = BAD_AMOUNT if i % 2 else "125.00"
        rows.append(f"P9{i:05d},D1{i:05d},26-CR-{1000 + i},{amount},2027-01-15,OPEN,fine")
    path = folder / "county_payments_2026-12.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def demo_ledger(tmp_path_factory) -> DemoLedger:
    root = tmp_path_factory.mktemp("web-ledger")
    include = copy_include(root / "include")
    # The payments template keeps 2 rejects in full: the mostly unreadable payments file has 5,
    # so its upload stores 2 and counts the other 3 (the demo payments file has none).
    with (include / "templates" / "county_payments.yaml").open("a", encoding="utf-8") as fh:
        fh.write(f"\nrejects_kept: {PAYMENTS_REJECTS_KEPT}\n")
    ledger = DemoLedger(target_url=f"sqlite:///{root / 'target.db'}", include=include)
    bad_hearings, ledger.bad_row = hearings_with_bad_case_number(root)
    files = [
        ("county_payments", REPO / "include/demo/county_payments_2026-11.csv"),
        ("jury_summons", REPO / "include/demo/jury_summons_20261128.xlsx"),
        ("metro_hearings", REPO / "include/demo/metro_hearings_20261128.txt"),
        ("metro_hearings", bad_hearings),  # ingested last: the profile's latest file
        ("county_payments", payments_mostly_unreadable(root)),
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COURTFEED_INCLUDE", str(include))
        for profile_name, path in files:
            profile = load_profile_file(include / "profiles" / f"{profile_name}.yaml")
            template = resolve_template(str(include / "templates" / f"{profile.template}.yaml"))
            result = ingest(
                path,
                template,
                ledger.target_url,
                agency=profile.agency,
                timezone=profile.timezone,
                profile=profile.name,
            )
            ledger.results[path.name] = result
            ledger.profile_of[path.name] = profile.name
    return ledger


@pytest.fixture
def web_include(demo_ledger, monkeypatch) -> Path:
    """The dashboard reads profiles from the same include/ copy the ledger was filled from."""
    monkeypatch.setenv("COURTFEED_INCLUDE", str(demo_ledger.include))
    return demo_ledger.include
