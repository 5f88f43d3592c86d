"""Alerts through Airflow's notifiers: a failed task, a rejected file, a late feed, a small file.

Mail goes through SmtpNotifier on the Airflow connection ``courtfeed_smtp`` to the profile's
alerts.email; Slack through SlackWebhookNotifier when alerts.slack_connection is set. Every alert
names the profile, the file and what went wrong, with a link to the task log, and never a row
value: exception texts can quote row values (a database error, a parse error), so only the
exception class and a scrubbed first line go out; file outcomes use FileWork.message, which the
pipeline keeps free of row values.

This module is imported when DAGs are parsed (the factory sets on_failure_callback): provider and
engine imports stay inside the functions.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from typing import Any

from courtfeed.config.profile import Profile
from courtfeed.privacy import describe_exception, failure_text, scrub  # noqa: F401 - alerts' own API too
from courtfeed.status import LOADED, Status

log = logging.getLogger(__name__)

SMTP_CONN_ID = "courtfeed_smtp"
DEFAULT_SENDER = "courtfeed@localhost"
DAG_PREFIX = "courtfeed__"


@dataclass
class Alert:
    """One notification: a subject line and labelled facts, rendered to mail and Slack."""

    profile: str
    subject: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    log_url: str | None = None

    def text(self) -> str:
        lines = [self.subject, ""] + [f"{label}: {value}" for label, value in self.facts]
        if self.log_url:
            lines.append(f"Task log: {self.log_url}")
        return "\n".join(lines)

    def html(self) -> str:
        rows = "".join(
            f"<tr><th align='left'>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>"
            for label, value in self.facts
        )
        link = ""
        if self.log_url:
            url = html.escape(self.log_url, quote=True)
            link = f'<p>Task log: <a href="{url}">{url}</a></p>'
        return f"<p>{html.escape(self.subject)}</p><table>{rows}</table>{link}"


def profile_name_of(dag_id: str) -> str | None:
    return dag_id[len(DAG_PREFIX) :] if dag_id.startswith(DAG_PREFIX) else None


# --- building alerts -------------------------------------------------------------------------
def task_failure_alert(profile: str, task_id: str, exc, file_name: str | None, log_url: str | None) -> Alert:
    facts = [("Profile", profile), ("File", file_name or "(no file: the task runs for the whole feed)")]
    # A task's exception is courtfeed's own (dagfactory/tasks.py words it); anything else that
    # reaches here is shown as its class only: a library's text may quote a cell, unquoted.
    error = failure_text(exc) if isinstance(exc, BaseException) else describe_exception(exc)
    facts += [("Task", task_id), ("Error", error)]
    where = f" for {file_name}" if file_name else ""
    return Alert(profile, f"[courtfeed] {profile}: task {task_id} failed{where}", facts, log_url)


def rejected_file_alert(profile: str, work, log_url: str | None) -> Alert:
    facts = [
        ("Profile", profile),
        ("File", work.name),
        ("Status", work.status or ""),
        ("Reason", work.message or "(no reason recorded)"),
        ("Rows read", str(work.rows_read)),
        ("Rows rejected", str(work.rows_rejected)),
        ("Upload id", work.upload_id),
    ]
    return Alert(profile, f"[courtfeed] {profile}: file {work.name} was rejected", facts, log_url)


def parked_file_alert(
    profile: str, file_name: str, message: str, upload_id: str, log_url: str | None
) -> Alert:
    facts = [("Profile", profile), ("File", file_name), ("Status", "failed (parked)"), ("Reason", message)]
    facts.append(("Upload id", upload_id))
    return Alert(profile, f"[courtfeed] {profile}: file {file_name} was parked", facts, log_url)


def after_teardown(profile: Profile, file_name: str, message: str, upload_id: str) -> list[str]:
    """Called by the file group's teardown when it parked a file no task could settle."""
    context, log_url = _current_context()
    return send_quietly(
        profile, parked_file_alert(profile.name, file_name, message, upload_id, log_url), context
    )


def volume_alert(profile: str, work, message: str, log_url: str | None) -> Alert:
    facts = [("Profile", profile), ("File", work.name), ("Volume", message), ("Upload id", work.upload_id)]
    return Alert(profile, f"[courtfeed] {profile}: file {work.name} is unusually small", facts, log_url)


def freshness_alert(profile: str, message: str) -> Alert:
    return Alert(profile, f"[courtfeed] {message}", [("Profile", profile), ("Problem", message)])


# --- sending ---------------------------------------------------------------------------------
def smtp_sender(conn_id: str = SMTP_CONN_ID) -> str | None:
    """The sender from the connection's extra from_email, else DEFAULT_SENDER; None without a connection."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = Connection.get(conn_id)
    except AirflowNotFoundException:  # not defined: mail alerts are simply off
        return None
    return (conn.extra_dejson or {}).get("from_email") or DEFAULT_SENDER


def send(profile: Profile, alert: Alert, context: dict | None = None) -> list[str]:
    """Send the alert to the profile's mail recipients and Slack; returns the channels used.

    The notifiers' notify() is called directly, not through their Jinja rendering: file names
    and messages are data, and a "{{" in a file name must not be evaluated as a template.
    """
    # Airflow's Context (a TypedDict) when called from a task; an empty one otherwise
    notify_context: Any = context if context is not None else {}
    sent: list[str] = []
    if profile.alerts.email:
        sender = smtp_sender()
        if sender is None:
            log.warning(
                "alert for %s not mailed: Airflow connection %s is not defined", profile.name, SMTP_CONN_ID
            )
        else:
            from airflow.providers.smtp.notifications.smtp import SmtpNotifier

            SmtpNotifier(
                to=list(profile.alerts.email),
                from_email=sender,
                subject=alert.subject,
                html_content=alert.html(),
                smtp_conn_id=SMTP_CONN_ID,
            ).notify(notify_context)
            sent.append("email")
    if profile.alerts.slack_connection:
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        SlackWebhookNotifier(slack_webhook_conn_id=profile.alerts.slack_connection, text=alert.text()).notify(
            notify_context
        )
        sent.append("slack")
    if sent:
        log.info("alert for %s sent by %s: %s", profile.name, " and ".join(sent), alert.subject)
    return sent


def send_quietly(profile: Profile, alert: Alert, context: dict | None = None) -> list[str]:
    """send(), but a mail or Slack outage is logged, not raised: the file's outcome is already recorded."""
    try:
        return send(profile, alert, context)
    except Exception as exc:
        log.warning("alert for %s not sent: %s", profile.name, describe_exception(exc))
        return []


# --- entry points called by the DAGs ---------------------------------------------------------
def on_task_failure(context) -> None:
    """on_failure_callback of every profile DAG task: mail who the profile names."""
    from courtfeed.config.files import ConfigError
    from courtfeed.dagfactory import runtime

    ti = context["ti"]
    name = profile_name_of(ti.dag_id)
    if name is None:
        return
    try:
        profile = runtime.load_profile(name)
    except ConfigError as exc:
        log.warning("no failure alert for %s: profile not loadable (%s)", name, type(exc).__name__)
        return
    file_name = context.get("file_name")
    if not file_name and ti.map_index is not None and ti.map_index >= 0:
        file_name = getattr(ti, "rendered_map_index", None) or f"map index {ti.map_index}"
    alert = task_failure_alert(profile.name, ti.task_id, context.get("exception"), file_name, _log_url(ti))
    send_quietly(profile, alert, context)


def after_finalize(profile: Profile, work) -> list[str]:
    """Called by the finalize task: alert on a rejected file, or on a loaded file far smaller than usual."""
    context, log_url = _current_context()
    if work.status == Status.REJECTED:
        return send_quietly(profile, rejected_file_alert(profile.name, work, log_url), context)
    if work.status in LOADED and (profile.alerts.email or profile.alerts.slack_connection):
        from courtfeed.dagfactory import runtime
        from courtfeed.target.monitoring import volume_anomaly

        with runtime.target_engine().connect() as conn:
            message = volume_anomaly(conn, profile, work.rows_read, upload_id=work.upload_id)
        if message:
            return send_quietly(profile, volume_alert(profile.name, work, message, log_url), context)
    return []


def run_freshness_monitor(now, profiles: list[Profile] | None = None) -> list[str]:
    """The monitor DAG's task: send the freshness alerts due at `now`; returns the late profiles."""
    from courtfeed.config.files import load_profiles
    from courtfeed.dagfactory import runtime
    from courtfeed.target.monitoring import freshness_alerts

    if profiles is None:
        profiles, problems = load_profiles()
        for problem in problems:
            log.warning("monitor: profile skipped: %s", problem)
    by_name = {p.name: p for p in profiles}
    watched = [p for p in profiles if p.alerts.expected_by]
    if not watched:
        return []
    with runtime.target_engine().connect() as conn:
        due = freshness_alerts(conn, watched, now)
    log.info(
        "monitor at %s: %d profiles watched, late: %s", now, len(watched), [a.profile for a in due] or "none"
    )
    unsent = []
    for item in due:
        try:
            send(by_name[item.profile], freshness_alert(item.profile, item.message))
        except Exception as exc:
            log.warning("freshness alert for %s not sent: %s", item.profile, describe_exception(exc))
            unsent.append(item.profile)
    if unsent:
        # fail the monitor run so the outage shows in Airflow, after trying every profile
        raise RuntimeError(f"freshness alerts not sent for: {', '.join(unsent)} (see the warnings above)")
    return [a.profile for a in due]


def _log_url(ti) -> str | None:
    try:
        return ti.log_url
    except Exception:  # a task instance without a run (tests, CLI): no link rather than no alert
        return None


def _current_context() -> tuple[Any, str | None]:
    from airflow.sdk import get_current_context

    try:
        context = get_current_context()
    except RuntimeError:  # "no context was found": outside a task (CLI, tests)
        return {}, None
    ti = context.get("ti")
    return context, (_log_url(ti) if ti is not None else None)
