"""One doctor check's outcome, and how it is printed: one line each, with a fix hint on failure."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

OK, FAIL, SKIP = "ok", "FAIL", "skip"


@dataclass
class Check:
    scope: str  # a profile's name, or "target" / "alerts" for what all profiles share
    name: str  # what was checked: "connection", "host key", "archive folder", ...
    status: str  # OK | FAIL | SKIP (not tried because an earlier check failed)
    detail: str
    hint: str | None = None  # how to fix it, on failure
    data: dict = field(default_factory=dict)  # machine-readable extras for --json

    @property
    def passed(self) -> bool:
        return self.status == OK

    def line(self) -> str:
        text = f"[{self.status:4}] {self.scope}: {self.name}: {self.detail}"
        if self.hint and self.status != OK:
            text += f" -- fix: {self.hint}"
        return text

    def to_dict(self) -> dict:
        out = asdict(self)
        out["status"] = self.status.lower()
        return out


class Recorder:
    """Collects a scope's checks; ``on_line`` sees each line as soon as it is known."""

    def __init__(self, scope: str, on_line=None):
        self.scope = scope
        self.checks: list[Check] = []
        self._on_line = on_line

    def add(self, name: str, status: str, detail: str, hint: str | None = None, **data) -> Check:
        check = Check(self.scope, name, status, detail, hint, data)
        self.checks.append(check)
        if self._on_line is not None:
            self._on_line(check)
        return check

    def ok(self, name: str, detail: str, **data) -> Check:
        return self.add(name, OK, detail, **data)

    def fail(self, name: str, detail: str, hint: str, **data) -> Check:
        return self.add(name, FAIL, detail, hint, **data)

    def skip(self, name: str, detail: str) -> Check:
        return self.add(name, SKIP, detail)


def summary(checks: list[Check]) -> str:
    failed = sum(1 for c in checks if c.status == FAIL)
    skipped = sum(1 for c in checks if c.status == SKIP)
    if not failed and not skipped:
        return f"all {len(checks)} checks passed"
    return f"{failed} of {len(checks)} checks failed" + (f", {skipped} not tried" if skipped else "")
