"""The `courtfeed` command line's arguments: one function per command adds its sub-parser."""

from __future__ import annotations

import argparse

from courtfeed.cli.commands import (
    cmd_automap,
    cmd_check,
    cmd_doctor,
    cmd_ingest,
    cmd_migrate,
    cmd_preview,
    cmd_reprocess,
    cmd_status,
)


def build_parser(description: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="courtfeed", description=description)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_doctor(sub)
    _add_migrate(sub)
    _add_check(sub)
    _add_file_commands(sub)
    _add_automap(sub)
    _add_reprocess(sub)
    _add_status(sub)
    return parser


def _add_doctor(sub) -> None:
    p = sub.add_parser(
        "doctor",
        help="check that everything a profile needs is in place (connection, host key, login, folders, "
        "template, target, alerts)",
        description="For each profile, through the same Airflow connections and hooks the DAG uses, one "
        "line per check with a fix hint when it fails. Exit 0 only when every check passes.",
    )
    p.add_argument("--profile", action="append", help="only this profile (repeatable; default: all)")
    p.add_argument("--target", help="check this SQLAlchemy URL instead of the courtfeed_target connection")
    p.add_argument(
        "--send-test-alert",
        action="store_true",
        help="also send a test alert by mail/Slack to each profile's recipients (default: only check "
        "that the servers answer)",
    )
    p.add_argument("--json", action="store_true", help='print {"ok", "summary", "checks": [...]} as JSON')
    p.set_defaults(func=cmd_doctor)


def _add_migrate(sub) -> None:
    p = sub.add_parser("migrate", help="create or upgrade the target database's tables (Alembic head)")
    p.add_argument(
        "--target",
        help="SQLAlchemy URL (default: the courtfeed_target connection, else "
        "COURTFEED_TARGET_URL or .run/courtfeed.db)",
    )
    p.set_defaults(func=cmd_migrate)


def _add_check(sub) -> None:
    p = sub.add_parser("check", help="validate every profile and template")
    p.add_argument("--include", help="the include/ folder (default: the project's)")
    p.add_argument("--connections", help="comma-separated Airflow connection ids that exist")
    p.set_defaults(func=cmd_check)


def _add_file_commands(sub) -> None:
    """preview and ingest: the same file arguments; ingest adds where and how to load."""
    # The same default a profile gets; read from the light profile model, not pipeline.run,
    # which imports pandas and would slow down every command.
    from courtfeed.config.profile import Profile

    default_max_mb = Profile.model_fields["max_unpacked_mb"].default
    for name, func, help_ in (
        ("preview", cmd_preview, "read, validate and map a local file without writing anywhere"),
        ("ingest", cmd_ingest, "the full pipeline on a local file, outside Airflow"),
    ):
        p = sub.add_parser(
            name,
            help=help_,
            description=help_ + ". A .zip, .gz or .pgp file is unpacked first, as the DAG does; "
            "each file inside it is its own upload.",
        )
        p.add_argument("file")
        p.add_argument("--template", help="template name in include/templates, or a YAML path")
        p.add_argument(
            "--profile", help="take template, timezone and agency from include/profiles/<NAME>.yaml"
        )
        p.add_argument("--timezone", help="the agency's IANA timezone for dates in the file (default UTC)")
        p.add_argument(
            "--json",
            action="store_true",
            help="print the result as JSON; a .zip with several files gives the totals at top level "
            'and each file\'s own result in "uploads"',
        )
        p.add_argument(
            "--show-records",
            type=int,
            metavar="N",
            help="print the first N mapped records (at most 20; they hold names, birth dates, phones)"
            + (
                "; default 5 on screen and 20 with --json"
                if name == "preview"
                else "; default none, on screen and in --json"
            ),
        )
        p.add_argument(
            "--max-unpacked-mb",
            type=int,
            default=default_max_mb,
            help="refuse a .zip/.gz/.pgp file that unpacks to more than this (zip bombs); "
            f"default {default_max_mb}, as for a profile",
        )
        p.add_argument("--pgp-key-file", metavar="PATH", help="ASCII-armored PGP private key for .pgp files")
        p.add_argument(
            "--pgp-passphrase-env",
            metavar="VAR",
            help="name of the environment variable holding the key's passphrase",
        )
        if name == "ingest":
            p.add_argument(
                "--target", help="SQLAlchemy URL (default: COURTFEED_TARGET_URL or .run/courtfeed.db)"
            )
            p.add_argument("--agency", help="tenant of the records (default: the profile's, else 'default')")
            p.add_argument("--force", action="store_true", help="load even if the same content was loaded")
            p.add_argument("--ack-dir", help="write the acknowledgement JSON and rejects CSV here")
        p.set_defaults(func=func)


def _add_automap(sub) -> None:
    p = sub.add_parser("automap", help="propose a template from a sample file's headers")
    p.add_argument("file")
    p.add_argument("--output", help="where to write the template (default include/templates/<name>.yaml)")
    p.add_argument("--force", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_automap)


def _add_reprocess(sub) -> None:
    p = sub.add_parser("reprocess", help="trigger a run that re-ingests chosen files (Airflow REST API)")
    p.add_argument("--profile", required=True)
    p.add_argument("--file", action="append", help="remote path or file name; repeat for several")
    p.add_argument("--since", help="re-ingest files modified at/after this local date or datetime")
    p.add_argument("--until", help="... and before this one")
    p.add_argument("--airflow-url", help="default COURTFEED_AIRFLOW_URL or http://localhost:8080")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_reprocess)


def _add_status(sub) -> None:
    p = sub.add_parser("status", help="recent uploads from the ledger")
    p.add_argument("--profile")
    p.add_argument("--target")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)
