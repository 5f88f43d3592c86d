#!/usr/bin/env python
"""Import an astro-style airflow_settings.yaml into the Airflow that AIRFLOW_HOME points at.

    python scripts/import_airflow_settings.py [airflow_settings.yaml] [--dry-run] [--airflow PATH]

Plain Airflow does not read airflow_settings.yaml (only `astro dev` does), so this converts its
connections, variables and pools into Airflow's own JSON import formats and runs
`airflow connections import --overwrite`, `airflow variables import -a overwrite` and
`airflow pools import`: what is in the file wins over what is in Airflow.

Any string value may use `${NAME}` or `${NAME:-default}`; it is replaced from the environment
after the YAML is parsed, so secrets (passwords, a pinned SSH host key) never need to live in the
file. `$${` stands for a literal `${`. A bad file exits 2 with one line per problem; values are
never echoed, only their location (entry and key).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

PLACEHOLDER = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

CONNECTION_KEYS = {
    "conn_id",
    "conn_type",
    "conn_host",
    "conn_schema",
    "conn_login",
    "conn_password",
    "conn_port",
    "conn_uri",
    "conn_extra",
    "conn_description",
}
POOL_KEYS = {"pool_name", "pool_slot", "pool_description", "pool_include_deferred"}
VARIABLE_KEYS = {"variable_name", "variable_value", "variable_description"}


class SettingsError(Exception):
    """The settings file is unusable; `problems` holds one human-readable line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def substitute_env(value: Any, environ: Mapping[str, str], where: str, problems: list[str]) -> Any:
    """Replace ${NAME} / ${NAME:-default} in every string inside `value`, recursively."""
    if isinstance(value, str):

        def _replace(match: re.Match) -> str:
            if match.group(0) == "$${":
                return "${"
            name, default = match.group(1), match.group(2)
            if name in environ:
                return environ[name]
            if default is not None:
                return default
            problems.append(f"{where}: environment variable {name} is not set")
            return ""

        return PLACEHOLDER.sub(_replace, value)
    if isinstance(value, list):
        return [substitute_env(v, environ, f"{where}[{i}]", problems) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: substitute_env(v, environ, f"{where}.{k}", problems) for k, v in value.items()}
    return value


def _entries(section: Any, name: str, problems: list[str]) -> list[dict]:
    if section is None:
        return []
    if not isinstance(section, list):
        problems.append(f"airflow.{name} must be a list")
        return []
    good = []
    for i, entry in enumerate(section):
        if isinstance(entry, dict):
            good.append(entry)
        else:
            problems.append(f"airflow.{name}[{i}] must be a mapping")
    return good


def _unknown_keys(entry: dict, allowed: set[str], where: str, problems: list[str]) -> None:
    for key in sorted(set(entry) - allowed, key=str):
        problems.append(f"{where}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")


def _as_int(value: Any, where: str, problems: list[str]) -> int | None:
    # After substitution a port or slot count may be a numeric string such as "2222".
    if isinstance(value, bool):
        problems.append(f"{where} must be a whole number")
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    problems.append(f"{where} must be a whole number")
    return None


def _as_bool(value: Any, where: str, problems: list[str]) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    problems.append(f"{where} must be true or false")
    return False


def _id(entry: dict, key: str, where: str, problems: list[str], seen: set[str]) -> str | None:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: {key} is required")
        return None
    if value in seen:
        problems.append(f"{where}: duplicate {key} {value!r}")
        return None
    seen.add(value)
    return value


def convert_connections(entries: list[dict], problems: list[str]) -> dict[str, Any]:
    """astro connections -> Airflow's connections JSON ({conn_id: {conn_type, host, ...}})."""
    result: dict[str, Any] = {}
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"airflow.connections[{i}]"
        _unknown_keys(entry, CONNECTION_KEYS, where, problems)
        conn_id = _id(entry, "conn_id", where, problems, seen)
        if conn_id is None:
            continue
        where = f"connection {conn_id!r}"
        if entry.get("conn_uri"):
            result[conn_id] = str(entry["conn_uri"])
            continue
        if not entry.get("conn_type"):
            problems.append(f"{where}: conn_type is required (or give conn_uri)")
            continue
        conn: dict[str, Any] = {"conn_type": str(entry["conn_type"])}
        for src, dst in (
            ("conn_host", "host"),
            ("conn_schema", "schema"),
            ("conn_login", "login"),
            ("conn_password", "password"),
            ("conn_description", "description"),
        ):
            if entry.get(src) not in (None, ""):
                conn[dst] = str(entry[src])
        if entry.get("conn_port") not in (None, ""):
            conn["port"] = _as_int(entry["conn_port"], f"{where}: conn_port", problems)
        extra = entry.get("conn_extra")
        if isinstance(extra, str) and extra.strip():
            try:
                extra = json.loads(extra)
            except json.JSONDecodeError:
                problems.append(f"{where}: conn_extra must be a mapping or a JSON object string")
                extra = None
        if extra not in (None, "", {}):
            if not isinstance(extra, dict):
                problems.append(f"{where}: conn_extra must be a mapping")
            else:
                conn["extra"] = json.dumps(extra)
        result[conn_id] = conn
    return result


def convert_variables(entries: list[dict], problems: list[str]) -> dict[str, Any]:
    """astro variables -> Airflow's variables JSON; always {"value": ...} so a value that is
    itself a mapping with a "value" key is not mistaken for the wrapper."""
    result: dict[str, Any] = {}
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"airflow.variables[{i}]"
        _unknown_keys(entry, VARIABLE_KEYS, where, problems)
        name = _id(entry, "variable_name", where, problems, seen)
        if name is None:
            continue
        if "variable_value" not in entry or entry["variable_value"] is None:
            problems.append(f"variable {name!r}: variable_value is required")
            continue
        value = entry["variable_value"]
        if isinstance(value, bool | int | float):
            value = str(value)  # astro treats values as strings; keep "5" as "5", not JSON 5
        result[name] = {"value": value, "description": entry.get("variable_description")}
    return result


def convert_pools(entries: list[dict], problems: list[str]) -> dict[str, Any]:
    """astro pools -> Airflow's pools JSON ({name: {slots, description, include_deferred}})."""
    result: dict[str, Any] = {}
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"airflow.pools[{i}]"
        _unknown_keys(entry, POOL_KEYS, where, problems)
        name = _id(entry, "pool_name", where, problems, seen)
        if name is None:
            continue
        if entry.get("pool_slot") in (None, ""):
            problems.append(f"pool {name!r}: pool_slot is required")
            continue
        slots = _as_int(entry["pool_slot"], f"pool {name!r}: pool_slot", problems)
        if slots is not None and slots < 0:
            problems.append(f"pool {name!r}: pool_slot must be 0 or more")
        result[name] = {
            "slots": slots,
            "description": str(entry.get("pool_description") or ""),
            "include_deferred": _as_bool(
                entry.get("pool_include_deferred", False), f"pool {name!r}: pool_include_deferred", problems
            ),
        }
    return result


def load_settings(path: Path, environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Read and convert the file: {"connections": ..., "variables": ..., "pools": ...} in
    Airflow's JSON import formats. Raises SettingsError listing every problem found."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise SettingsError([f"{path}: cannot read ({e.strerror})"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SettingsError([f"{path}: not valid YAML{at}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict) or not isinstance(data.get("airflow", {}) or {}, dict):
        raise SettingsError([f"{path}: expected a mapping with a top-level 'airflow:' key"])
    unknown_top = set(data) - {"airflow"}
    if unknown_top:
        raise SettingsError([f"{path}: unknown top-level key(s) {sorted(unknown_top)}; expected 'airflow:'"])
    section = data.get("airflow") or {}
    problems: list[str] = []
    unknown = set(section) - {"connections", "variables", "pools"}
    if unknown:
        problems.append(f"airflow: unknown key(s) {sorted(unknown)} (allowed: connections, pools, variables)")
    section = substitute_env(section, environ, "airflow", problems)
    converted = {
        "connections": convert_connections(
            _entries(section.get("connections"), "connections", problems), problems
        ),
        "variables": convert_variables(_entries(section.get("variables"), "variables", problems), problems),
        "pools": convert_pools(_entries(section.get("pools"), "pools", problems), problems),
    }
    if problems:
        raise SettingsError([f"{path}: {p}" for p in problems])
    return converted


# Runs several `airflow ...` command lines in one interpreter, exactly as `airflow` itself would
# (same parser, same command functions): each separate `airflow` start costs 5-10 s of imports,
# which `make run` pays before Airflow is up.
IN_PROCESS_RUNNER = """
import json, sys
from airflow import configuration  # first, as airflow/__main__.py does, to avoid import cycles
from airflow.cli import cli_parser
from airflow.configuration import write_default_airflow_configuration_if_needed

write_default_airflow_configuration_if_needed()
parser = cli_parser.get_parser()
for argv in json.loads(sys.argv[1]):
    args = parser.parse_args(argv)
    args.func(args)
"""


def _airflow_command(explicit: str | None) -> list[str]:
    """How to run `airflow`: the given command; else this Python in-process when it has Airflow."""
    if explicit:
        return [explicit]
    if importlib.util.find_spec("airflow") is not None:
        return [sys.executable, "-c", IN_PROCESS_RUNNER]
    found = shutil.which("airflow")
    if not found:
        raise FileNotFoundError("cannot find the `airflow` command (use --airflow PATH)")
    return [found]


def import_settings(settings: dict[str, dict[str, Any]], airflow: list[str]) -> None:
    """Run Airflow's own import commands on temporary JSON files (owner-only, then deleted)."""
    commands = {
        "connections": ["connections", "import", "--overwrite"],
        "variables": ["variables", "import", "--action-on-existing-key", "overwrite"],
        "pools": ["pools", "import"],
    }
    with tempfile.TemporaryDirectory(prefix="courtfeed-settings-") as tmp:  # mode 0700
        argvs = []
        for kind, args in commands.items():
            if not settings[kind]:
                continue
            file = Path(tmp) / f"{kind}.json"
            file.write_text(json.dumps(settings[kind], indent=2))
            print(f"importing {len(settings[kind])} {kind}: {', '.join(sorted(settings[kind]))}", flush=True)
            argvs.append([*args, str(file)])
        if not argvs:
            return
        if airflow[-1] == IN_PROCESS_RUNNER:
            runs = [[*airflow, json.dumps(argvs)]]
        else:
            runs = [[*airflow, *argv] for argv in argvs]
        for command in runs:
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
                raise RuntimeError(f"the Airflow import failed (exit {done.returncode}):\n{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1], prog="import_airflow_settings.py")
    parser.add_argument("file", nargs="?", default="airflow_settings.yaml", type=Path)
    parser.add_argument("--dry-run", action="store_true", help="check and convert the file, import nothing")
    parser.add_argument(
        "--airflow",
        help="the airflow command to run once per import (default: Airflow in this Python, in one process)",
    )
    args = parser.parse_args(argv)

    try:
        settings = load_settings(args.file, os.environ)
    except SettingsError as e:
        for problem in e.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{len(v)} {k}" for k, v in settings.items())
    if args.dry_run:
        print(f"{args.file}: ok ({counts})")
        return 0
    try:
        import_settings(settings, _airflow_command(args.airflow))
    except (RuntimeError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"imported {counts} from {args.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
