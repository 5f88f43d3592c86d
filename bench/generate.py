"""A large, realistic hearings export (the metro_hearings layout) for benchmarks."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

HEADER = "DEF_ID|DEF_FNAME|DEF_LNAME|DOB|PHONE|EMAIL|CASE_NO|HEARING_ID|HEARING_DATE|HEARING_TIME|COURTROOM|JUDGE|HEARING_TYPE|STATUS"
FIRST = [
    "Maria",
    "James",
    "Olivia",
    "Dmitri",
    "José",
    "Zoë",
    "Wei",
    "Fatima",
    "Liam",
    "Priya",
    "Hannah",
    "Kwame",
]
LAST = ["Clark", "Brown", "Smith", "Walker", "Peña", "Müller", "O'Brien", "Garcia", "Young", "Kowalski"]
ROOMS = ["Courtroom 1", "Courtroom 2A", "Courtroom 3B", "Courtroom 4, Annex", "Virtual - Zoom"]
JUDGES = ["Hon. A. Rivera", "Hon. B. Chen", "Hon. C. Okafor", "Hon. D. Schmidt"]
TYPES = ["ARRAIGNMENT", "PRETRIAL", "TRIAL", "SENTENCING", "STATUS CONFERENCE"]
STATUSES = ["SCHEDULED"] * 8 + ["CONTINUED", "DISMISSED"]
PHONES = ["({a}) {b}-{c}", "{a}-{b}-{c}", "{a}{b}{c}", "1{a}{b}{c}", "+1 {a} {b} {c}"]


def generate(path: Path, rows: int, seed: int = 20261128, first_id: int = 0) -> Path:
    """``rows`` hearings; defendant and hearing ids count up from ``first_id`` (distinct files of
    one agency then hold distinct records)."""
    rnd = random.Random(seed)
    start = date(2026, 12, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(HEADER + "\n")
        for i in range(rows):
            first, last = rnd.choice(FIRST), rnd.choice(LAST)
            dob = date(1950, 1, 1) + timedelta(days=rnd.randrange(20000))
            when = start + timedelta(days=rnd.randrange(90))
            hour, minute = rnd.choice([8, 9, 10, 11, 13, 14, 15]), rnd.choice([0, 15, 30, 45])
            phone = rnd.choice(PHONES).format(
                a=rnd.choice(["312", "708", "773", "217"]),
                b=f"{rnd.randrange(200, 999)}",
                c=f"{rnd.randrange(10000):04d}",
            )
            n = first_id + i
            fh.write(
                f"D{1000000 + n}|{first}|{last}|{dob:%m/%d/%Y}|{phone}|{first.lower()}.{n}@mail.example|"
                f"{rnd.choice(['26', '27'])}-{rnd.choice(['CR', 'MI', 'TR'])}-{rnd.randrange(1, 99999)}|"
                f"H{9000000 + n}|{when:%m/%d/%Y}|{(hour - 1) % 12 + 1:02d}:{minute:02d} {'AM' if hour < 12 else 'PM'}|"
                f"{rnd.choice(ROOMS)}|{rnd.choice(JUDGES)}|{rnd.choice(TYPES)}|{rnd.choice(STATUSES)}\n"
            )
    return path


def generate_ragged(path: Path, lines: int = 3_000_000) -> Path:
    """A pipe file whose every data line is one field where the header has three: each line is a
    ``ragged_row`` reject (3,000,000 lines: 6 MB of file, 3,000,000 rejects)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write("A|B|C\n")
        fh.writelines("x\n" for _ in range(lines))
    return path
