"""The dashboard in headless Chromium, served by uvicorn on loopback as the Airflow api-server
would mount it (under /courtfeed). Screenshots go to test-artifacts/web/ for a person to look at."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from courtfeed.web.app import create_app

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "web"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# A fresh profile and nothing that phones home: the page must work with no network at all.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served_dashboard(demo_ledger, web_include):
    """The dashboard mounted under /courtfeed, served by uvicorn in a background thread."""
    parent = FastAPI()
    parent.mount("/courtfeed", create_app(target_url=demo_ledger.target_url))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(parent, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/courtfeed"
    server.should_exit = True
    thread.join(timeout=10)


def chromium(args: list[str], profile_dir: Path) -> subprocess.CompletedProcess:
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError("chromium is missing: run scripts/install-system-deps.sh")
    return subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def dump_dom(url: str, tmp_path: Path) -> str:
    proc = chromium(["--dump-dom", url], tmp_path / "chromium-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def screenshot(url: str, name: str, tmp_path: Path, height: int = 1100) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / name
    target.unlink(missing_ok=True)
    proc = chromium(
        [f"--screenshot={target}", f"--window-size=1280,{height}", url], tmp_path / "chromium-shot"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return target


def test_front_page_in_chromium_shows_the_profiles_and_their_counts(served_dashboard, demo_ledger, tmp_path):
    dom = dump_dom(f"{served_dashboard}/", tmp_path)
    assert "<h1>SFTP profiles</h1>" in dom
    for name, result in demo_ledger.results.items():
        if name in (
            "metro_hearings_20261129.txt",
            "county_payments_2026-12.csv",
            "jury_summons_20261128.xlsx",
        ):
            # each profile's latest file is in the profiles table, with its counts
            row = re.search(rf'<tr data-profile="{demo_ledger.profile_of[name]}">(.*?)</tr>', dom, re.S)
            assert row, demo_ledger.profile_of[name]
            cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(1))
            assert cells == [
                f"{result['rows_read']:,}",
                f"{result['rows_loaded']:,}",
                f"{result['rows_rejected']:,}",
            ]
            assert name in row.group(1)
    assert dom.count('<g class="day"') == 30

    shot = screenshot(f"{served_dashboard}/", "dashboard.png", tmp_path)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one


def test_upload_page_in_chromium_lists_the_rejects(served_dashboard, demo_ledger, tmp_path):
    front = dump_dom(f"{served_dashboard}/", tmp_path)
    link = re.search(r'<a href="(/courtfeed/uploads/[^"]+)"[^>]*>metro_hearings_20261129.txt</a>', front)
    assert link, "the profiles table links the latest hearings file"
    url = served_dashboard.removesuffix("/courtfeed") + link.group(1)
    dom = dump_dom(url, tmp_path)
    result = demo_ledger.results["metro_hearings_20261129.txt"]
    assert f'<div class="value" id="rows-rejected">{result["rows_rejected"]}</div>' in dom
    for reject in result["rejects"]:
        assert f'<td class="num">{reject["row"]}</td><td>{reject["column"]}</td>' in dom
    screenshot(url, "upload.png", tmp_path, height=1400)


def test_upload_page_in_chromium_counts_the_rejects_not_stored(served_dashboard, demo_ledger, tmp_path):
    result = demo_ledger.results["county_payments_2026-12.csv"]
    url = f"{served_dashboard}/uploads/{result['upload_id']}"
    dom = dump_dom(url, tmp_path)
    assert "Rejected rows (2 stored)" in dom
    table = re.search(r'<table class="rejects" id="rejects">(.*?)</table>', dom, re.S)
    assert table and table.group(1).count("<tr>") == 1 + 2  # the header and the two kept in full
    more = re.search(r'<p class="more-rejects" id="rejects-more">([^<]*)</p>', dom)
    assert more, "the page says how many rejects were counted but not stored"
    assert more.group(1).strip() == "and 3 more type:decimal, counted by rule but not stored one by one."
    screenshot(url, "upload-more-rejects.png", tmp_path, height=1000)
