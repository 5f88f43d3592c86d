"""docker/Dockerfile: the Airflow image matches the project's pinned Airflow and its build context."""

from __future__ import annotations

import re
from pathlib import Path

from tests.deploy.conftest import REPO

DOCKERFILE = REPO / "docker" / "Dockerfile"
IMAGE_REQUIREMENTS = REPO / "docker" / "requirements-image.txt"


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;#]+)", line.strip())
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


def test_base_image_matches_the_pinned_airflow():
    airflow = pins(REPO / "requirements.txt")["apache-airflow"]
    text = DOCKERFILE.read_text()
    args = set(re.findall(r"^ARG AIRFLOW_VERSION=(\S+)$", text, re.MULTILINE))
    assert args == {airflow}
    # The base is a build argument whose default is the upstream image of the pinned Airflow.
    base = re.search(r"^ARG BASE_IMAGE=apache/airflow:(\S+)$", text, re.MULTILINE).group(1)
    assert base.replace("${AIRFLOW_VERSION}", airflow) == f"{airflow}-python3.11"
    assert re.search(r"^FROM \$\{BASE_IMAGE\}$", text, re.MULTILINE)


def test_the_host_ca_bundle_stays_out_of_the_default_image():
    assert "ca-bundle" not in DOCKERFILE.read_text() and "PIP_CERT" not in DOCKERFILE.read_text()
    assert "ca-bundle.crt" in (REPO / "docker" / "local-base" / "Dockerfile").read_text()


def test_every_stack_image_takes_its_base_as_an_argument():
    for dockerfile in (
        REPO / "docker" / "sftp" / "Dockerfile",
        REPO / "docker" / "local-base" / "Dockerfile",
        REPO / "docker" / "standins" / "postgres" / "Dockerfile",
        REPO / "docker" / "standins" / "redis" / "Dockerfile",
    ):
        text = dockerfile.read_text()
        assert re.search(r"^ARG BASE_IMAGE=\S+$", text, re.MULTILINE), dockerfile
        assert re.search(r"^FROM \$\{BASE_IMAGE\}$", text, re.MULTILINE), dockerfile


def test_the_install_keeps_airflow_and_uses_the_lock():
    text = DOCKERFILE.read_text()
    install = re.search(r"RUN pip install(.*?)(?:\n\n|\Z)", text, re.DOTALL).group(1)
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in install
    assert "-r /opt/courtfeed/requirements.txt" in install
    assert "-r /opt/courtfeed/requirements-image.txt" in install
    assert "pip check" in install
    assert "_PIP_ADDITIONAL_REQUIREMENTS" not in text


def test_image_extras_pin_every_package():
    # Open ranges let pip backtrack for minutes (through every kombu release); all exact.
    lines = [
        line.split("#")[0].strip()
        for line in IMAGE_REQUIREMENTS.read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    assert lines and all(re.fullmatch(r"[A-Za-z0-9_.\-]+==\S+", line) for line in lines), lines


def test_image_extras_agree_with_the_lock():
    lock = pins(REPO / "requirements.txt")
    extras = pins(IMAGE_REQUIREMENTS)
    assert {"apache-airflow-providers-celery", "apache-airflow-providers-fab"} <= set(extras)
    disagreeing = {
        name: (version, lock[name])
        for name, version in extras.items()
        if name in lock and lock[name] != version
    }
    assert not disagreeing


def test_build_context_contains_what_the_dockerfile_copies():
    # .dockerignore excludes everything (`**`) and re-includes paths with `!path`.
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    assert "**" in ignore
    included = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY"):
            sources = [part for part in line.split()[1:-1] if not part.startswith("--")]
            for source in sources:
                assert source.rstrip("/") in included, source
                assert (REPO / source).exists(), source


def test_sftp_image_copies_files_that_exist():
    folder = REPO / "docker" / "sftp"
    for line in (folder / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY"):
            for source in line.split()[1:-1]:
                assert (folder / source).is_file(), source
