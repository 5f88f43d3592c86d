"""What each `courtfeed` command does, given its parsed arguments; it returns the exit code."""

from __future__ import annotations

import json
import os
import sys
from contextlib import nullcontext
from pathlib import Path

from courtfeed.cli.output import print_result, print_status
from courtfeed.status import Status

# Sample records in preview --json (the design's contract: "the first mapped records, up to 20").
SAMPLE_JSON = 20


class UsageError(Exception):
    """A command line mistake the user can fix; reported as one line, exit 1."""


def _print_json(data) -> None:
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def _progress(args):
    """Progress on a terminal; nothing for --json or when the output goes to a pipe or a file."""
    if args.json or not sys.stdout.isatty():
        return nullcontext()
    from courtfeed import progress

    return progress.on_terminal(sys.stdout)


def _template(name_or_path: str):
    from courtfeed.config.files import resolve_template

    return resolve_template(name_or_path)


def _target_url(arg: str | None) -> str:
    from courtfeed.target.db import default_target_url

    return arg or default_target_url()


def cmd_check(args) -> int:
    from courtfeed.config.files import include_dir
    from courtfeed.doctor.config import check_problems

    include = Path(args.include) if args.include else include_dir()
    known = None
    if args.connections:
        known = set(filter(None, (c.strip() for c in args.connections.split(","))))
    problems = check_problems(include, known)
    for line in problems:
        print(line)
    from courtfeed.config.files import check_warnings

    for line in check_warnings(include):
        print(line)
    if problems:
        return 1
    n_profiles = len(list((include / "profiles").glob("*.y*ml")))
    n_templates = len(list((include / "templates").glob("*.y*ml")))
    print(f"ok: {n_profiles} profiles, {n_templates} templates")
    return 0


def _keep_records(result: dict, limit: int) -> dict:
    """The result with at most `limit` sample records (here and in each upload of a delivery):
    records carry names, birth dates and phones, and go to the screen only when asked for."""
    result["records"] = (result.get("records") or [])[:limit]
    for upload in result.get("uploads") or []:
        upload["records"] = (upload.get("records") or [])[:limit]
    return result


def _unpack_options(args) -> dict:
    """Unpack limits and PGP key material for preview/ingest, as keyword arguments.

    The passphrase is read from an environment variable the user names, never from the command
    line itself, where any user on the machine could see it in the process list.
    """
    options: dict = {"max_unpacked_mb": args.max_unpacked_mb}
    if args.pgp_key_file:
        options["pgp_private_key"] = Path(args.pgp_key_file).read_text(encoding="utf-8")
    if args.pgp_passphrase_env:
        if args.pgp_passphrase_env not in os.environ:
            raise UsageError(
                f"environment variable {args.pgp_passphrase_env} (--pgp-passphrase-env) is not set"
            )
        options["pgp_passphrase"] = os.environ[args.pgp_passphrase_env]
    return options


def _from_profile(args) -> None:
    """--profile P fills in what the profile knows: template, timezone and agency (flags win)."""
    if args.profile:
        from courtfeed.config.files import load_profile_file, profiles_dir

        profile = load_profile_file(profiles_dir() / f"{args.profile}.yaml")
        args.template = args.template or profile.template
        args.timezone = args.timezone or profile.timezone
        if hasattr(args, "agency"):
            args.agency = args.agency or profile.agency
    if not args.template:
        raise SystemExit("courtfeed: give --template NAME_OR_PATH or --profile NAME")
    args.timezone = args.timezone or "UTC"
    if hasattr(args, "agency"):
        args.agency = args.agency or "default"


def cmd_preview(args) -> int:
    from courtfeed.pipeline.run import preview

    _from_profile(args)
    template = _template(args.template)
    with _progress(args):
        result = preview(Path(args.file), template, timezone=args.timezone, **_unpack_options(args))
    # preview is for the person checking a template: samples by default (20 in JSON, as the
    # design's contract says; 5 on screen), --show-records N to choose
    shown = args.show_records if args.show_records is not None else (SAMPLE_JSON if args.json else 5)
    _keep_records(result, shown)
    _print_json(result) if args.json else print_result(result, shown)
    return 0 if result["status"] == "ok" else 2


def cmd_ingest(args) -> int:
    from courtfeed.pipeline.run import ingest

    _from_profile(args)
    template = _template(args.template)
    with _progress(args):
        result = ingest(
            Path(args.file),
            template,
            _target_url(args.target),
            agency=args.agency,
            timezone=args.timezone,
            forced=args.force,
            ack_dir=Path(args.ack_dir) if args.ack_dir else None,
            **_unpack_options(args),
        )
    # counts and status only: records (PII) only with an explicit --show-records N
    shown = args.show_records or 0
    _keep_records(result, shown)
    _print_json(result) if args.json else print_result(result, shown)
    return 0 if result["status"] in (Status.LOADED, Status.PARTIAL, Status.DUPLICATE) else 2


def cmd_doctor(args) -> int:
    from courtfeed.doctor import run_doctor, summary, use_airflow_metadata_connections

    use_airflow_metadata_connections()
    on_line = None if args.json else (lambda check: print(check.line(), flush=True))
    checks = run_doctor(
        args.profile or None, send_test_alert=args.send_test_alert, target_url=args.target, on_line=on_line
    )
    passed = all(c.passed for c in checks)
    if args.json:
        _print_json({"ok": passed, "summary": summary(checks), "checks": [c.to_dict() for c in checks]})
    else:
        print(summary(checks))
    return 0 if passed else 1


def cmd_migrate(args) -> int:
    from courtfeed.doctor import use_airflow_metadata_connections
    from courtfeed.target.db import engine_for, migrate, schema_revisions

    if args.target:
        url = args.target
    else:
        from courtfeed.dagfactory.runtime import target_url

        use_airflow_metadata_connections()
        url = target_url()
    engine = engine_for(url)
    migrate(engine)
    current, _ = schema_revisions(engine)
    engine.dispose()
    print(f"target {engine.url.render_as_string(hide_password=True)} is at revision {current} (head)")
    return 0


def cmd_status(args) -> int:
    from courtfeed.target import ledger
    from courtfeed.target.db import engine_for, migrate

    engine = engine_for(_target_url(args.target))
    migrate(engine)
    with engine.connect() as conn:
        rows = ledger.recent_uploads(conn, args.profile, limit=args.limit)
    _print_json(rows) if args.json else print_status(rows)
    return 0


def cmd_automap(args) -> int:
    import yaml

    from courtfeed.cli.automap import propose
    from courtfeed.config.files import templates_dir

    result = propose(Path(args.file))
    template, report = result["template"], result["report"]
    out = Path(args.output) if args.output else templates_dir() / f"{template['name']}.yaml"
    if out.exists() and not args.force:
        print(f"{out} exists; pass --force to overwrite or --output to write elsewhere", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(template, sort_keys=False, allow_unicode=True), encoding="utf-8")
    if args.json:
        _print_json({"template_path": str(out), **report})
        return 0
    print(f"wrote {out}")
    for m in report["matched"]:
        print(f"  {m['column']!r:28} -> {m['field']:24} confidence {m['confidence']:.2f}  type {m['type']}")
    for u in report["unmatched"]:
        print(f"  {u['column']!r:28} -> (no match; best confidence {u['best_confidence']:.2f})")
    for note in report.get("notes", []):
        print(f"  note: {note}")
    return 0


def reprocess_conf(files: list[str] | None, since: str | None, until: str | None) -> dict:
    """The run conf (DAG params) that re-ingests named files or everything that arrived in a window."""
    if files:
        return {"force_files": files}
    conf: dict = {"arrived_since": since, "reprocess": True}
    if until:
        conf["arrived_until"] = until
    return conf


def cmd_reprocess(args) -> int:
    from courtfeed.cli.airflow_api import AirflowApi, AirflowApiError

    if not args.file and not args.since:
        print("give --file PATH (repeatable) or --since DATE [--until DATE]", file=sys.stderr)
        return 1
    dag_id = f"courtfeed__{args.profile}"
    conf = reprocess_conf(args.file, args.since, args.until)
    api = AirflowApi(args.airflow_url)
    try:
        dag = api.dag(dag_id)
        what = (
            f"{len(args.file)} file(s)"
            if args.file
            else f"files that arrived since {args.since}" + (f" until {args.until}" if args.until else "")
        )
        run = api.trigger(dag_id, conf, note=f"courtfeed reprocess: {what}")
    except AirflowApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        _print_json(
            {"dag_id": dag_id, "dag_run_id": run["dag_run_id"], "conf": conf, "paused": dag.get("is_paused")}
        )
    else:
        print(f"triggered {dag_id} run {run['dag_run_id']} to re-ingest {what}")
        if dag.get("is_paused"):
            print("note: the DAG is paused; the run starts when it is unpaused")
    return 0
