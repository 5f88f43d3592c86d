"""`courtfeed doctor`: is everything a profile needs in place, before its first run?

For each profile, through the same Airflow connections and provider hooks the DAG's tasks use,
one check after the other, each reported on one line with a fix hint when it fails: the
connection, the server, the pinned host key, the login, the folders (and for S3 the bucket,
listing and writing), the template; then what all profiles share: the target database and
the alert channels. The command line and the courtfeed_doctor DAG both call run_doctor().
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from courtfeed.doctor.report import FAIL, Check, Recorder, summary

__all__ = ["Check", "run_doctor", "summary", "use_airflow_metadata_connections"]


def use_airflow_metadata_connections() -> None:
    """Outside a task, let connection look-ups read Airflow's metadata database too.

    Airflow's task SDK reads only environment variables and secrets backends unless the process
    says it is a server process (as the scheduler does); the doctor command runs where Airflow
    runs, and connections made in the UI must count. Call before the first look-up.
    """
    os.environ.setdefault("_AIRFLOW_PROCESS_CONTEXT", "server")


def run_doctor(
    profile_names: list[str] | None = None,
    *,
    send_test_alert: bool = False,
    include: Path | None = None,
    target_url: str | None = None,
    on_line: Callable[[Check], None] | None = None,
) -> list[Check]:
    """Every check for the chosen profiles (all when None); ``on_line`` sees each as it ends."""
    import logging

    from courtfeed.config.files import ConfigError, include_dir, load_profile_file, load_profiles
    from courtfeed.doctor.alerting import check_slack, check_smtp
    from courtfeed.doctor.alerting import send_test_alert as send_alert
    from courtfeed.doctor.config import check_problems, check_template
    from courtfeed.doctor.s3 import check_s3
    from courtfeed.doctor.sftp import check_sftp
    from courtfeed.doctor.target import check_target

    # paramiko logs each handshake and alembic each look at INFO; the doctor's lines say what matters
    for noisy in ("paramiko", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    include = include or include_dir()
    checks: list[Check] = []
    if profile_names:
        profiles = []
        for name in profile_names:
            rec = Recorder(name, on_line)
            try:
                profiles.append(load_profile_file(include / "profiles" / f"{name}.yaml"))
            except ConfigError as exc:
                rec.fail("profile", exc.problems[0], "fix the profile (see `courtfeed check`)")
            except FileNotFoundError:
                rec.fail("profile", f"no profile {include / 'profiles' / (name + '.yaml')}", "check the name")
            checks += rec.checks
    else:
        profiles, problems = load_profiles(include / "profiles")
        rec = Recorder("profiles", on_line)
        for problem in problems:
            rec.fail("profile", problem, "fix the profile (see `courtfeed check`)")
        if not profiles and not problems:
            rec.fail(
                "profiles",
                f"no profile in {include / 'profiles'}",
                "write one (README: Connect a new agency)",
            )
        checks += rec.checks

    problems = check_problems(include)
    for profile in profiles:
        rec = Recorder(profile.name, on_line)
        try:
            (check_sftp if profile.source.kind == "sftp" else check_s3)(profile, rec)
        except Exception as exc:  # a check that broke is a failed check, not a crashed doctor
            from courtfeed.dagfactory.alerts import describe_exception

            rec.fail("source", describe_exception(exc), f"check the connection '{profile.source.connection}'")
        check_template(profile, include, problems, rec)
        checks += rec.checks

    rec = Recorder("target", on_line)
    check_target(rec, target_url)
    checks += rec.checks

    rec = Recorder("alerts", on_line)
    mail_ok = True
    if any(p.alerts.email for p in profiles):
        mail_ok = check_smtp(rec)
    slack_conns = sorted({p.alerts.slack_connection for p in profiles if p.alerts.slack_connection})
    slack_ok = {c: check_slack(c, rec) for c in slack_conns}
    if send_test_alert:
        for profile in profiles:
            if (profile.alerts.email and mail_ok) or slack_ok.get(profile.alerts.slack_connection or ""):
                send_alert(profile, rec)
    checks += rec.checks
    return checks


def failed(checks: list[Check]) -> bool:
    return any(c.status == FAIL or c.status == "skip" for c in checks)
