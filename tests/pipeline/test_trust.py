"""The checks a task makes on the file payload it is handed (XCom): a reference, never authority.

Paths must lie where the profile says (its source folder or prefix, its staging folder), the
fields the profile decides must be the profile's, and an upload id the ledger knows must be
this profile's; anything else is refused before the task does a thing.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from courtfeed.config.profile import Profile
from courtfeed.pipeline.trust import (
    PayloadRefused,
    check_remote,
    delivery_key,
    profile_fields,
    remote_path_problem,
    trusted_work,
)
from courtfeed.pipeline.work import FileWork
from courtfeed.target import ledger
from courtfeed.target.db import engine_for, migrate


def sftp_profile(**source) -> Profile:
    return Profile.model_validate(
        {
            "name": "feed_a",
            "agency": "agency-a",
            "source": {"connection": "sftp_a", "directory": "/drop/a", **source},
            "template": "metro_hearings",
            "timezone": "America/Chicago",
            "after_load": "archive",
            "archive_directory": "/drop/a/archive",
            "error_directory": "/drop/a/errors",
            "reports_directory": "/drop/acks",
        }
    )


def s3_profile(prefix: str = "in/", **source) -> Profile:
    return Profile.model_validate(
        {
            "name": "feed_s3",
            "agency": "agency-a",
            "source": {"connection": "s3_a", "bucket": "b", "prefix": prefix, **source},
            "template": "metro_hearings",
            "archive_directory": "in/done",
        }
    )


@pytest.mark.parametrize(
    "path",
    ["/drop/a/h.txt", "/drop/a//h.txt", "/drop/a/./h.txt", "//drop/a/h.txt", "/drop/a/archive.txt"],
)
def test_a_file_in_the_source_folder_is_accepted(path):
    assert remote_path_problem(sftp_profile(), path) is None


def test_the_folder_may_be_written_with_a_trailing_slash():
    assert remote_path_problem(sftp_profile(directory="/drop/a/"), "/drop/a/h.txt") is None


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/drop/b/h.txt", "not in the profile's source folder"),
        ("/drop/ab/h.txt", "not in the profile's source folder"),  # a sibling sharing the prefix
        ("/drop/a", "not in the profile's source folder"),  # the folder itself
        ("/drop/a/../b/h.txt", "'..' part"),
        ("/drop/a/x/../../b/h.txt", "'..' part"),
        ("/drop/a/..", "'..' part"),
        ("drop/a/h.txt", "not in the profile's source folder"),  # relative against absolute
        ("/drop/a/sub/h.txt", "not read recursively"),
        ("/drop/a/archive/h.txt", "not read recursively"),
        ("/etc/passwd", "not in the profile's source folder"),
        ("", "not a path"),
        (None, "not a path"),
        ("/drop/a/h\x00.txt", "not a path"),
    ],
)
def test_a_path_outside_what_the_listing_returns_is_refused(path, why):
    problem = remote_path_problem(sftp_profile(), path)
    assert problem is not None and why in problem


def test_a_recursive_source_takes_subfolders_but_not_its_own_output_folders_or_hidden_ones():
    profile = sftp_profile(recursive=True)
    assert remote_path_problem(profile, "/drop/a/2026/11/h.txt") is None
    assert "archive folder" in remote_path_problem(profile, "/drop/a/archive/h.txt")
    assert "error folder" in remote_path_problem(profile, "/drop/a//errors/x/h.txt")
    assert "hidden subfolder" in remote_path_problem(profile, "/drop/a/.cache/h.txt")


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("in/h.txt", None),
        ("in/sub/h.txt", "not read recursively"),
        ("other/h.txt", "not under the profile's prefix"),
        ("in", "not under the profile's prefix"),
        ("in/", "not under the profile's prefix"),
        ("in/../other/h.txt", "'..'"),
        ("in/./h.txt", "'..'"),
        ("/in/h.txt", "leading '/'"),
    ],
)
def test_s3_keys_must_be_under_the_prefix(key, problem):
    found = remote_path_problem(s3_profile(), key)
    assert (found is None) if problem is None else (problem in found)


def test_s3_recursive_keys_skip_the_archive_folder():
    profile = s3_profile(recursive=True)
    assert remote_path_problem(profile, "in/2026/h.txt") is None
    assert "archive folder" in remote_path_problem(profile, "in/done/h.txt")


def test_a_listed_file_outside_the_folder_is_refused_with_a_clear_message():
    with pytest.raises(PayloadRefused) as refused:
        check_remote(
            sftp_profile(), {"path": "/drop/b/secret.txt", "size": 1, "mtime": "2026-01-01T00:00:00"}
        )
    text = str(refused.value)
    assert text.startswith("profile 'feed_a': the file payload handed to this task was refused: ")
    assert "'/drop/b/secret.txt' is not in the profile's source folder '/drop/a'" in text
    assert "nothing was done" in text


# --- a whole payload ----------------------------------------------------------------------------
@pytest.fixture
def staged(tmp_path: Path):
    """A staging root with one delivery folder of feed_a holding its downloaded file."""
    root = tmp_path / "staging"
    delivery = root / "feed_a" / "d-0123456789abcdef01234567"
    (delivery / "source").mkdir(parents=True)
    (delivery / "source" / "h.txt").write_text("x")
    return root, delivery


def payload(delivery: Path, **changes) -> dict:
    profile = sftp_profile()
    work = FileWork(
        upload_id="4f1c0e6e-0000-4000-8000-000000000001",
        name="h.txt",
        path="/drop/a/h.txt",
        local_path=str(delivery / "source" / "h.txt"),
        workdir=str(delivery),
        delivery_dir=str(delivery),
        size=1,
        mtime=datetime(2026, 11, 28, tzinfo=UTC).isoformat(),
        **profile_fields(profile),
    ).to_dict()
    return {**work, **changes}


def test_a_payload_as_fetch_wrote_it_is_trusted(staged):
    root, delivery = staged
    work = trusted_work(payload(delivery), sftp_profile(), root)
    assert (work.agency, work.template, work.path) == ("agency-a", "metro_hearings", "/drop/a/h.txt")


@pytest.mark.parametrize("key", ["agency", "template", "timezone", "profile", "source"])
def test_a_field_the_profile_decides_must_be_the_profiles(staged, key):
    root, delivery = staged
    with pytest.raises(PayloadRefused, match=f"its {key} is not the profile's"):
        trusted_work(payload(delivery, **{key: "agency-b"}), sftp_profile(), root)


def test_fields_an_older_payload_lacks_are_taken_from_the_profile(staged):
    root, delivery = staged
    data = payload(delivery)
    for key in ("timezone", "profile", "source"):
        del data[key]
    work = trusted_work(data, sftp_profile(), root)
    assert (work.timezone, work.profile, work.source) == ("America/Chicago", "feed_a", "sftp_a:/drop/a")


@pytest.mark.parametrize("data", [{"name": "h.txt"}, "h.txt", ["h.txt"], {"upload_id": 1, "size": "big"}])
def test_a_payload_that_is_not_one_is_refused(staged, data):
    root, _delivery = staged
    with pytest.raises(PayloadRefused, match="it is not a file payload"):
        trusted_work(data, sftp_profile(), root)
    if not isinstance(data, dict):
        with pytest.raises(PayloadRefused, match="it is not a file payload"):
            delivery_key(sftp_profile(), data)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"path": "/drop/b/h.txt"}, "not in the profile's source folder"),
        ({"name": "../../h.txt"}, "is not one name"),
        ({"name": ".."}, "is not one name"),
        ({"delivery_dir": "/tmp", "workdir": "/tmp"}, "its staging folder"),
        ({"local_path": "/etc/passwd"}, "its downloaded file"),
        ({"workdir": "/var/tmp"}, "its work folder"),
    ],
)
def test_a_path_or_name_out_of_place_is_refused(staged, change, why):
    root, delivery = staged
    with pytest.raises(PayloadRefused, match=why):
        trusted_work(payload(delivery, **change), sftp_profile(), root)


def test_staging_paths_are_compared_after_resolving_dots_and_links(staged, tmp_path: Path):
    root, delivery = staged
    dots = str(delivery / ".." / ".." / ".." / "elsewhere")
    with pytest.raises(PayloadRefused, match="its staging folder"):
        trusted_work(payload(delivery, delivery_dir=dots, workdir=dots), sftp_profile(), root)
    with pytest.raises(PayloadRefused, match="its downloaded file"):
        trusted_work(payload(delivery, local_path=str(delivery / ".." / "x")), sftp_profile(), root)
    # a link inside the delivery folder that leads out of it
    (tmp_path / "precious").mkdir()
    os.symlink(tmp_path / "precious", delivery / "link")
    with pytest.raises(PayloadRefused, match="its downloaded file"):
        trusted_work(payload(delivery, local_path=str(delivery / "link" / "f")), sftp_profile(), root)
    # another profile's delivery folder under the same staging root
    other = root / "feed_b" / "d-1"
    other.mkdir(parents=True)
    with pytest.raises(PayloadRefused, match="its staging folder"):
        trusted_work(
            payload(delivery, delivery_dir=str(other), workdir=str(other), local_path=str(other / "f")),
            sftp_profile(),
            root,
        )


def test_the_staging_root_may_itself_be_reached_through_a_link(staged, tmp_path: Path):
    root, delivery = staged
    os.symlink(root, tmp_path / "linked")
    assert trusted_work(payload(delivery), sftp_profile(), tmp_path / "linked").name == "h.txt"


@pytest.mark.parametrize(
    "folder", ["/s/feed_b/d-1", "/s/feed_a/..", "/s/feed_a/d-1/../../feed_b/d-2", "/s/feed_a", ""]
)
def test_a_delivery_folder_of_another_profile_is_refused_by_name(folder):
    with pytest.raises(PayloadRefused, match="its staging folder"):
        delivery_key(sftp_profile(), {"delivery_dir": folder, "workdir": folder})


def test_the_delivery_key_of_the_profiles_own_folder():
    assert delivery_key(sftp_profile(), {"workdir": "/x/feed_a/d-9"}) == "feed_a/d-9"


def test_an_upload_id_of_another_profile_is_refused(staged, tmp_path: Path):
    root, delivery = staged
    engine = engine_for(f"sqlite:///{tmp_path / 'target.db'}")
    migrate(engine)
    with engine.begin() as conn:
        for upload_id, profile in (("u-of-b", "feed_b"), ("u-of-a", "feed_a")):
            ledger.start_upload(
                conn,
                upload_id=upload_id,
                profile=profile,
                agency="x",
                template="t",
                source="s",
                path="/p",
                size=1,
                mtime=None,
                sha256="s",
            )
    with pytest.raises(PayloadRefused, match="is an upload of another profile"):
        trusted_work(payload(delivery, upload_id="u-of-b"), sftp_profile(), root, engine)
    assert trusted_work(payload(delivery, upload_id="u-of-a"), sftp_profile(), root, engine)
    assert trusted_work(payload(delivery, upload_id="new"), sftp_profile(), root, engine)
    engine.dispose()
