"""Row-level and file-level problems, shared by every stage of the pipeline.

A reject names the row a person sees when opening the file in a spreadsheet, the column, the
rule and a readable message. It never carries the row's values (they may be personal data):
courtfeed.privacy states the rule and handles text courtfeed did not write.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Reject:
    row: int | None  # spreadsheet row number; None for a file-level problem
    column: str | None
    rule: str  # short machine name: required, type:date, regex, ragged_row, expectation name...
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


class FileRejected(Exception):
    """The whole file cannot be used (empty, binary, missing columns, over the reject threshold).

    The upload ends ``rejected``; the message is shown to the agency as is, so it must be
    specific and free of row values.
    """

    def __init__(self, message: str, rule: str = "file", rejects: list[Reject] | None = None):
        super().__init__(message)
        self.rule = rule
        self.rejects = rejects or []


def describe_more(more: dict[str, int] | None, after_kept: bool = True) -> str:
    """The rejects not stored in full, per rule, as a person reads them after the ones that were:
    "and 2,990,000 more ragged_row" ("" when there are none; without ``after_kept``, no "and").
    Several rules are listed most frequent first."""
    counts = sorted((more or {}).items(), key=lambda kv: (-kv[1], kv[0]))
    parts = [f"{n:,} more {rule}" for rule, n in counts if n]
    if not parts:
        return ""
    return ("and " if after_kept else "") + ", ".join(parts)
