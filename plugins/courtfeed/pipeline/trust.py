"""What a task may take from the file payload it is handed, and what it takes from its profile.

Between the tasks of one file its ``FileWork`` travels through XCom, which a user allowed to
edit a DAG's XComs (Airflow's REST API) can rewrite before clearing the next task. So the
payload is a reference, never authority. Every task loads its profile and, before it touches a
file, the source, the staging folder or the ledger, checks the payload against it:

- the agency, template, time zone, source and profile name are the profile's;
- the remote path is one the profile's listing could have returned: in its folder (or under its
  bucket prefix), one level deep unless the source is recursive, outside the archive, error and
  reports folders, without a ``..`` part;
- the file name is one name, not a path;
- the staging paths lie in a delivery folder of this profile under the staging root (compared
  after resolving links, so ``..`` or a link cannot lead out of it);
- an upload id the ledger already knows belongs to this profile.

A payload that fails a check is refused with ``PayloadRefused``, naming what did not fit; the
task fails having done nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from courtfeed.config.profile import Profile
from courtfeed.pipeline.work import FileWork

SHOWN_CHARS = 200  # of a refused path in the message


class PayloadRefused(Exception):
    """The payload a task was handed does not fit the profile the task runs for; nothing was done."""


def _refuse(profile: Profile, what: str) -> PayloadRefused:
    return PayloadRefused(
        f"profile '{profile.name}': the file payload handed to this task was refused: {what}. It was "
        "changed outside courtfeed (an edited XCom) or the profile changed during the run; nothing "
        "was done. Run the file again (`courtfeed reprocess`) once the profile is as intended"
    )


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _parts(path: str) -> tuple[bool, list[str]] | None:
    """(absolute, parts) of a posix path without empty and '.' parts; None if a part is '..'.

    Purely lexical, as a remote path cannot be resolved here: a '..' is refused outright rather
    than folded, since on the server it may climb out of a linked folder.
    """
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    return path.startswith("/"), parts


def _under(parts: list[str], folder: list[str]) -> bool:
    return len(parts) > len(folder) and parts[: len(folder)] == folder


def _sftp_problem(profile: Profile, path: str) -> str | None:
    src = profile.source
    root, here = _parts(src.directory or ""), _parts(path)
    if here is None:
        return f"the path {_shown(path)} has a '..' part"
    if root is None or here[0] != root[0] or not _under(here[1], root[1]):
        return f"the path {_shown(path)} is not in the profile's source folder {src.directory!r}"
    depth = len(here[1]) - len(root[1])
    if depth > 1 and not src.recursive:
        return (
            f"the path {_shown(path)} is in a subfolder of {src.directory!r}, which is not read recursively"
        )
    if any(p.startswith(".") for p in here[1][len(root[1]) : -1]):
        return f"the path {_shown(path)} is in a hidden subfolder, which the listing skips"
    for name, folder in _skipped(profile):
        skip = _parts(folder)
        if skip is not None and skip[0] == here[0] and _under(here[1], skip[1]):
            return f"the path {_shown(path)} is in the profile's {name} folder {folder!r}"
    return None


def _s3_problem(profile: Profile, key: str) -> str | None:
    src = profile.source
    prefix = src.prefix.lstrip("/")
    parts = key.split("/")
    if ".." in parts or "." in parts or key.startswith("/"):
        return f"the key {_shown(key)} has a '.', '..' or leading '/' part"
    rest = key[len(prefix) :] if key.startswith(prefix) else None
    if not rest or rest.endswith("/"):
        return f"the key {_shown(key)} is not under the profile's prefix {src.prefix!r}"
    if "/" in rest and not src.recursive:
        return f"the key {_shown(key)} is below the prefix {src.prefix!r}, which is not read recursively"
    for name, folder in _skipped(profile):
        if key.startswith(folder.strip("/") + "/"):
            return f"the key {_shown(key)} is in the profile's {name} folder {folder!r}"
    return None


def _skipped(profile: Profile) -> list[tuple[str, str]]:
    named = (
        ("archive", profile.archive_directory),
        ("error", profile.error_directory),
        ("reports", profile.reports_directory),
    )
    return [(name, folder) for name, folder in named if folder]


def remote_path_problem(profile: Profile, path: Any) -> str | None:
    """Why ``path`` is not a file the profile's source listing could have returned, or None."""
    if not isinstance(path, str) or not path or "\x00" in path:
        return f"the remote path {_shown(path)} is not a path"
    if profile.source.kind == "s3":
        return _s3_problem(profile, path)
    return _sftp_problem(profile, path)


def check_remote(profile: Profile, remote: dict) -> dict:
    """A listed file (the sensor's XCom) as handed to fetch and the teardown, checked."""
    problem = remote_path_problem(profile, remote.get("path") if isinstance(remote, dict) else None)
    if problem:
        raise _refuse(profile, problem)
    return remote


def profile_fields(profile: Profile) -> dict[str, str]:
    """The payload fields that are the profile's to say, as the fetch writes them."""
    return {
        "profile": profile.name,
        "agency": profile.agency,
        "template": profile.template,
        "timezone": profile.timezone,
        "source": f"{profile.source.connection}:{profile.source.root}",
    }


def delivery_key(profile: Profile, work: dict) -> str:
    """``<profile>/<delivery folder>`` of a payload, refused unless it is one of this profile's.

    Checked on the names alone, before object-storage staging pulls (and first empties) that
    folder on this machine.
    """
    if not isinstance(work, dict):
        raise _refuse(profile, "it is not a file payload")
    folder = Path(str(work.get("delivery_dir") or work.get("workdir") or ""))
    if folder.parent.name != profile.name or folder.name in ("", ".", ".."):
        raise _refuse(profile, f"its staging folder {_shown(str(folder))} is not one of the profile's")
    return f"{folder.parent.name}/{folder.name}"


def _real(path: str) -> Path:
    return Path(os.path.realpath(path))


def _staging_problem(work: FileWork, mine: Path) -> str | None:
    delivery = _real(work.delivery_dir or work.workdir)
    if delivery.parent != mine:
        return f"its staging folder {_shown(work.delivery_dir or work.workdir)} is not in {str(mine)!r}"
    workdir = _real(work.workdir)
    if workdir != delivery and not workdir.is_relative_to(delivery):
        return f"its work folder {_shown(work.workdir)} is not in its staging folder"
    local = _real(work.local_path)
    if local == delivery or not local.is_relative_to(delivery):
        return f"its downloaded file {_shown(work.local_path)} is not in its staging folder"
    return None


def _name_problem(work: FileWork) -> str | None:
    name = work.name
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\x00" in name:
        return f"the file name {_shown(name)} is not one name"
    return None


def trusted_work(data: dict, profile: Profile, staging_root: Path, engine=None) -> FileWork:
    """The payload as a FileWork once every check passed (see the module's docstring).

    Fields the profile decides that the payload lacks (written by an older courtfeed) are taken
    from the profile; present ones must agree with it. With ``engine``, an upload id the ledger
    knows must be this profile's.
    """
    try:
        work = FileWork.from_dict(data)
    except (AttributeError, TypeError, ValueError) as exc:
        raise _refuse(profile, f"it is not a file payload ({type(exc).__name__})") from None
    for key, expected in profile_fields(profile).items():
        if key in data and data[key] != expected:
            raise _refuse(profile, f"its {key} is not the profile's")
        setattr(work, key, expected)
    problem = (
        remote_path_problem(profile, work.path)
        or _name_problem(work)
        or _staging_problem(work, _real(str(Path(staging_root) / profile.name)))
    )
    if problem is None and engine is not None:
        problem = _ledger_problem(engine, work, profile)
    if problem:
        raise _refuse(profile, problem)
    return work


def _ledger_problem(engine, work: FileWork, profile: Profile) -> str | None:
    from sqlalchemy import select

    from courtfeed.target.schema import uploads

    with engine.connect() as conn:
        owner = conn.execute(select(uploads.c.profile).where(uploads.c.id == work.upload_id)).first()
    if owner is not None and owner[0] != profile.name:
        return f"its upload id {_shown(work.upload_id)} is an upload of another profile"
    return None
