"""The one rule for SSH host keys, for every SSH/SFTP connection courtfeed or its triggers open.

The workers' ``SftpSource``, the folder watcher in the triggerer and ``courtfeed doctor`` all ask
``host_key_check`` before they build the provider's hook, and hand the hook its answer
explicitly, so the connection's extras never decide on their own:

- the connection pins the server's key (extra ``host_key``): it is verified, always, whatever the
  profile or the other extras say;
- a connection without a pinned key, or one asking to skip verification (``no_host_key_check``,
  its old name ``ignore_hostkey_verification``, or ``allow_host_key_change``), is refused before
  anything is sent to the server: the credentials would go to whoever answers;
- unless the profile opts out in the open (``source.insecure_skip_host_key_check: true``, which
  ``courtfeed check`` reports): then an unpinned server is accepted unverified.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from courtfeed.sources.base import SourceError

# Connection extras that switch host key verification off (in the SFTP and SSH providers).
SKIP_EXTRAS = ("no_host_key_check", "ignore_hostkey_verification", "allow_host_key_change")


class HostKeyRefused(SourceError):
    """A connection the host key rule refuses: nothing was sent to the server. ``skip`` names
    the extra that asked to skip verification (None: no key pinned)."""

    def __init__(self, message: str, skip: str | None):
        super().__init__(message)
        self.skip = skip


@dataclass(frozen=True)
class HostKeyCheck:
    """What the hook is told: the pinned key (verified), or None (only with the profile's opt-out)."""

    conn_id: str
    pinned: str | None

    @property
    def no_host_key_check(self) -> bool:
        """The value to pass to the provider's hook constructor (it wins over the extras)."""
        return self.pinned is None


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes", "on")


def refusal(conn_id: str, skip: str | None) -> HostKeyRefused:
    why, drop = (f"it sets {skip}", f" and drop {skip}") if skip else ("no host key pinned", "")
    return HostKeyRefused(
        f"SFTP connection '{conn_id}': {why}: the server's identity would not be verified; put its "
        "public key in the connection's extra 'host_key' (e.g. the output of ssh-keyscan -t ed25519 "
        f"HOST, without the host name){drop}, or, for a test server only, set "
        "source.insecure_skip_host_key_check: true in the profile",
        skip,
    )


def host_key_check(conn_id: str, extra: dict | None, *, insecure_skip_host_key_check: bool) -> HostKeyCheck:
    """Apply the rule to a connection's extras; raises ``HostKeyRefused`` (one line, no secret)."""
    extra = extra or {}
    pinned = str(extra.get("host_key") or "").strip() or None
    skips = [name for name in SKIP_EXTRAS if _truthy(extra.get(name))]
    if not insecure_skip_host_key_check:
        if skips:
            raise refusal(conn_id, skips[0])
        if pinned is None:
            raise refusal(conn_id, None)
    return HostKeyCheck(conn_id, pinned)
