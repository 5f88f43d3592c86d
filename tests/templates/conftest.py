"""Helpers for the template acceptance tests: write a template, run the CLI, read the ledger.

Every input file and template is made by the test itself in tmp_path; the CLI runs in a
subprocess exactly as a user runs it, so a traceback or a stray print would show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from tests import cli

REPO = Path(__file__).resolve().parents[2]


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict:
        return json.loads(self.stdout)


def run_cli(*args: str, env: dict | None = None) -> CliResult:
    proc = cli.run_cli(*args, env=env)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def template_file(tmp_path: Path):
    """template_file(body) -> path of a template YAML written into tmp_path."""

    def _write(body: dict) -> Path:
        path = tmp_path / f"{body['name']}.yaml"
        path.write_text(yaml.safe_dump(body, sort_keys=False, allow_unicode=True), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def preview_json():
    """preview_json(file, template_path, *extra) -> the parsed `courtfeed preview --json` output."""

    def _preview(path: Path, template: Path, *extra: str, env: dict | None = None) -> dict:
        result = run_cli("preview", path, "--template", template, "--json", *extra, env=env)
        assert result.stdout.strip(), f"no JSON on stdout; stderr: {result.stderr}"
        return result.json

    return _preview


def uploads(db_path: Path) -> list[dict]:
    """Every ledger row of a SQLite target, oldest first."""
    engine = sa.create_engine(f"sqlite:///{db_path}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("select * from uploads order by started_at")).mappings().all()
            return [dict(r) for r in rows]
    finally:
        engine.dispose()


def rejected_rows(out: dict) -> list[int]:
    return sorted({r["row"] for r in out["rejects"] if r["row"] is not None})
