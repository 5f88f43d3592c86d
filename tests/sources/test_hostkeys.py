"""The host key rule every SSH/SFTP entry point applies (courtfeed.sources.hostkeys), on its own.

The entry points themselves are tested against a real sshd: tests/sources/test_sftp.py (the
workers), tests/dagfactory/test_watch_host_keys.py (the folder watch), tests/doctor/test_doctor.py.
"""

from __future__ import annotations

import pytest

from courtfeed.sources.hostkeys import SKIP_EXTRAS, HostKeyRefused, host_key_check

PIN = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def test_a_pinned_key_is_verified():
    check = host_key_check("c", {"host_key": f"  {PIN}\n"}, insecure_skip_host_key_check=False)
    assert check.pinned == PIN and check.no_host_key_check is False


def test_no_pinned_key_is_refused():
    for extra in (None, {}, {"host_key": ""}, {"host_key": "   "}, {"known_hosts": "/etc/ssh/known_hosts"}):
        with pytest.raises(HostKeyRefused) as caught:
            host_key_check("sftp_x", extra, insecure_skip_host_key_check=False)
        assert str(caught.value).startswith("SFTP connection 'sftp_x': no host key pinned:")
        assert caught.value.skip is None and caught.value.transient is False


@pytest.mark.parametrize("name", SKIP_EXTRAS)
@pytest.mark.parametrize("value", [True, "true", "True", "1"])
def test_an_extra_that_skips_verification_is_refused_even_with_a_pin(name, value):
    with pytest.raises(HostKeyRefused) as caught:
        host_key_check("sftp_x", {"host_key": PIN, name: value}, insecure_skip_host_key_check=False)
    assert f"it sets {name}" in str(caught.value) and caught.value.skip == name
    assert "\n" not in str(caught.value)


def test_false_values_of_those_extras_are_no_request_to_skip():
    extra = {"host_key": PIN, **{name: "false" for name in SKIP_EXTRAS}}
    assert host_key_check("c", extra, insecure_skip_host_key_check=False).pinned == PIN


def test_the_profiles_opt_out_accepts_an_unpinned_server_but_a_pin_still_counts():
    unpinned = host_key_check("c", {"no_host_key_check": True}, insecure_skip_host_key_check=True)
    assert unpinned.pinned is None and unpinned.no_host_key_check is True
    pinned = host_key_check(
        "c", {"host_key": PIN, "no_host_key_check": True}, insecure_skip_host_key_check=True
    )
    assert pinned.pinned == PIN and pinned.no_host_key_check is False
