"""Doctor checks of the alert channels: the SMTP connection answers (a NOOP, no mail) and the
Slack webhook's server is reachable; a real test alert only with --send-test-alert."""

from __future__ import annotations

from urllib.parse import urlsplit

from courtfeed.config.profile import Profile
from courtfeed.doctor.connections import get_connection, missing_connection_hint, reachable
from courtfeed.doctor.report import Recorder


def check_smtp(rec: Recorder) -> bool:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    from courtfeed.dagfactory.alerts import SMTP_CONN_ID

    conn = get_connection(SMTP_CONN_ID)
    if conn is None:
        rec.fail(
            "smtp",
            f"a profile mails alerts but the Airflow connection '{SMTP_CONN_ID}' is not defined",
            missing_connection_hint(SMTP_CONN_ID, "smtp"),
        )
        return False
    where = f"{conn.host}:{conn.port or 25}"
    hook = SmtpHook(smtp_conn_id=SMTP_CONN_ID)
    try:
        passed, message = hook.test_connection()
    finally:
        try:
            hook.__exit__(None, None, None)
        except Exception:
            pass
    if not passed:
        rec.fail(
            "smtp",
            f"'{SMTP_CONN_ID}' ({where}) does not answer: {message.splitlines()[0] if message else 'no reply'}",
            f"check host, port, TLS settings and login of '{SMTP_CONN_ID}' and that the mail server runs",
        )
        return False
    rec.ok("smtp", f"'{SMTP_CONN_ID}' ({where}) answers (NOOP; no mail sent)")
    return True


def check_slack(conn_id: str, rec: Recorder) -> bool:
    conn = get_connection(conn_id)
    if conn is None:
        rec.fail(
            "slack",
            f"Airflow connection '{conn_id}' is not defined",
            missing_connection_hint(conn_id, "slackwebhook"),
        )
        return False
    host = conn.host or "https://hooks.slack.com/services"
    parts = urlsplit(host if "://" in host else f"https://{host}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    problem = reachable(parts.hostname or "", port)
    if problem:
        rec.fail(
            "slack", f"'{conn_id}': {problem}", f"check the webhook URL of '{conn_id}' and outbound access"
        )
        return False
    rec.ok("slack", f"'{conn_id}' webhook server {parts.hostname}:{port} reachable (no message sent)")
    return True


def send_test_alert(profile: Profile, rec: Recorder) -> None:
    from courtfeed.dagfactory import alerts

    alert = alerts.Alert(
        profile.name,
        f"[courtfeed] {profile.name}: test alert from courtfeed doctor",
        [("Profile", profile.name), ("Why", "courtfeed doctor --send-test-alert; nothing is wrong")],
    )
    try:
        sent = alerts.send(profile, alert)
    except Exception as exc:
        rec.fail(
            "test alert",
            f"{profile.name}: not sent: {alerts.describe_exception(exc)}",
            "fix the alert connections above first",
        )
        return
    recipients = len(profile.alerts.email)
    rec.ok(
        "test alert",
        f"{profile.name}: sent by {' and '.join(sent) or 'nothing'} ({recipients} mail recipient(s))",
    )
