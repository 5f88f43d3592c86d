"""Event-driven pickup, measured: how soon a file dropped at a random moment is seen ready, how
much listing the watch costs the SFTP server for 1, 10 and 100 profiles on one server, and the
CPU the watch costs while idle.

    python -m bench.pickup_latency            # prints the figures as JSON
    from bench.pickup_latency import measure  # bench/run.py calls measure() -> dict

It runs the real trigger (courtfeed.dagfactory.watcher.FolderWatchTrigger) through Airflow's own
SharedStreamManager, the code the triggerer runs, against a real SFTP server on loopback (the
quickstart's, instrumented to count logins and directory listings server-side). The scheduler,
the worker and the pipeline are not in this loop: landing -> ready here is the part event-driven
pickup decides; tests/e2e/test_watch_pickup.py measures landing -> run -> loaded on a live Airflow.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import statistics
import tempfile
import threading
import time
from pathlib import Path

CONN_ID = "bench_watch"


class CountingServer:
    """The quickstart's SFTP server, counting logins and directory listings as the server sees them."""

    def __init__(self, root: Path):
        import paramiko

        from courtfeed.demo import rooted_sftp, sftp_server

        self.logins = 0
        self.listings = 0
        counter = self

        class Auth(sftp_server.PasswordOnlyServer):
            def check_auth_password(self, username, password):
                result = super().check_auth_password(username, password)
                if result == paramiko.AUTH_SUCCESSFUL:
                    counter.logins += 1
                return result

        class Listing(rooted_sftp.RootedSFTPServer):
            def list_folder(self, path):
                counter.listings += 1
                return super().list_folder(path)

        class Server(sftp_server.DemoSFTPServer):
            def _start_transport(self, conn):
                conn.settimeout(None)
                transport = paramiko.Transport(conn)
                transport.add_server_key(self.host_key)
                transport.set_subsystem_handler("sftp", paramiko.SFTPServer, Listing, root=str(self.root))
                try:
                    transport.start_server(server=Auth(self._user, self._password))
                except (paramiko.SSHException, EOFError, OSError):
                    transport.close()  # a client cancelled mid-handshake (end of a window)
                    return
                with self._lock:
                    self._transports.append(transport)

        self.password = secrets.token_urlsafe(16)
        self.host_key = paramiko.Ed25519Key.from_private_key_file(str(_host_key(root.parent)))
        self.server = Server(root, 0, "bench", self.password, self.host_key)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def connection_json(self) -> str:
        from courtfeed.demo.host_key import public_key_line

        return json.dumps(
            {
                "conn_type": "sftp",
                "host": "127.0.0.1",
                "port": self.server.port,
                "login": "bench",
                "password": self.password,
                "extra": {"host_key": public_key_line(self.host_key)},
            }
        )

    def stop(self) -> None:
        self.server.stop()


def _host_key(folder: Path) -> Path:
    from courtfeed.demo.host_key import load_or_create_host_key

    path = folder / "host_key"
    load_or_create_host_key(path)
    return path


def _triggers(n: int, directory: str, interval: float, min_age: int = 60, shared_folder: bool = True):
    from courtfeed.config.profile import Profile
    from courtfeed.dagfactory.watcher import landing_asset

    out = []
    for i in range(n):
        folder = directory if shared_folder else f"{directory}/p{i}"  # paths as the server shows them
        profile = Profile(
            name=f"bench_{i:03d}",
            agency="bench",
            template="metro_hearings",
            asset_events_name_files=True,  # the events name the files: the latency is per file
            source={
                "connection": CONN_ID,
                "directory": folder,
                "keywords": [f"feed{i:03d}_"],
                "min_age_seconds": min_age,
                "watch_interval_seconds": interval,
            },
        )
        out.append(landing_asset(profile).watchers[0].trigger)
    return out


async def _watch(triggers, seconds: float, on_event=None) -> None:
    """Run triggers as the triggerer does (shared streams by key) for ``seconds``."""
    from airflow.triggers.shared_stream import SharedStreamManager

    manager = SharedStreamManager()

    async def one(i: int, trigger) -> None:
        stream = manager.subscribe(trigger_id=i, trigger=trigger, key=trigger.shared_stream_key())
        async for event in trigger.filter_shared_stream(stream):
            if on_event:
                on_event(event, time.time())

    tasks = [asyncio.create_task(one(i, t)) for i, t in enumerate(triggers)]
    try:
        await asyncio.sleep(seconds)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await manager.stop_all()


def _cpu_seconds() -> float:
    """CPU of this thread only: the event loop the triggers run in, not the SFTP server's threads."""
    return time.thread_time()


def listing_load(
    server: CountingServer, drop: Path, remote: str, profiles: int, interval: float, window: float
) -> dict:
    """Logins and listings the server saw while ``profiles`` idle profiles watched one folder."""
    for p in range(profiles):
        (drop / f"p{p}").mkdir(exist_ok=True)
    result = {}
    for shared in (True, False):
        logins, listings = server.logins, server.listings
        cpu = _cpu_seconds()
        asyncio.run(_watch(_triggers(profiles, remote, interval, shared_folder=shared), window))
        cpu = _cpu_seconds() - cpu
        key = "one_folder" if shared else "a_folder_each"
        result[key] = {
            "listings_per_minute": round((server.listings - listings) * 60 / window, 1),
            "logins": server.logins - logins,
            "cpu_percent_while_idle": round(100 * cpu / window, 2),
        }
    return result


def pickup_latency(
    server: CountingServer, drop: Path, remote: str, samples: int, interval: float, min_age: int
) -> dict:
    """Files dropped at random moments: seconds from landing to the watch's ready event."""
    triggers = _triggers(samples, remote, interval, min_age=min_age)
    landed: dict[str, float] = {}
    ready: dict[str, float] = {}

    def on_event(event, when: float) -> None:
        for f in event.payload["files"]:
            ready.setdefault(Path(f["path"]).name, when)

    async def drop_files() -> None:
        for i in range(samples):
            await asyncio.sleep(random.uniform(0, interval))
            name = f"feed{i:03d}_hearings.txt"
            (drop / name).write_text("DEF_ID\n1\n")
            landed[name] = time.time()

    async def run() -> None:
        await asyncio.gather(
            _watch(triggers, samples * interval + min_age + 3 * interval + 5, on_event), drop_files()
        )

    asyncio.run(run())
    latencies = sorted(ready[n] - landed[n] for n in landed if n in ready)
    return {
        "samples": len(latencies),
        "missed": samples - len(latencies),
        "seconds_min": round(latencies[0], 1) if latencies else None,
        "seconds_median": round(statistics.median(latencies), 1) if latencies else None,
        "seconds_max": round(latencies[-1], 1) if latencies else None,
    }


def measure(
    samples: int = 5,
    interval: float | None = None,
    min_age: int | None = None,
    window: float = 60.0,
    profile_counts: tuple[int, ...] = (1, 10, 100),
) -> dict:
    """The figures of docs/running-at-scale.md ("Event-driven pickup"), as a dict."""
    import logging

    from courtfeed.config.profile import Source

    for noisy in ("asyncssh", "paramiko"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    defaults = Source(connection="x", directory="/")
    interval = float(interval or defaults.watch_interval_seconds)
    min_age = defaults.min_age_seconds if min_age is None else min_age
    base = Path(tempfile.mkdtemp(prefix="cf-bench-watch-"))
    root = base / "root"
    (root / "drop").mkdir(parents=True)
    server = CountingServer(root)
    previous = os.environ.get(f"AIRFLOW_CONN_{CONN_ID.upper()}")
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = server.connection_json()
    try:
        # Warm up (imports, first connection) so the idle CPU figures are steady-state.
        asyncio.run(_watch(_triggers(1, "/drop", interval), 2.0))
        load = {}
        for n in profile_counts:
            drop = root / f"load{n}"
            drop.mkdir()
            load[str(n)] = listing_load(server, drop, f"/load{n}", n, interval, window)
        latency = pickup_latency(server, root / "drop", "/drop", samples, interval, min_age)
    finally:
        server.stop()
        if previous is None:
            os.environ.pop(f"AIRFLOW_CONN_{CONN_ID.upper()}", None)
        else:
            os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = previous
        import shutil

        shutil.rmtree(base, ignore_errors=True)
    return {
        "pickup": {
            "watch_interval_seconds": interval,
            "min_age_seconds": min_age,
            "landing_to_ready": latency,
            "listing_load_by_profiles": load,
            "window_seconds": window,
            # The hourly-schedule alternative, for comparison (not measured: from the settings):
            # one sensor poke per poke_interval per profile while its run waits, each a login and a listing.
            "schedule_sensor_listings_per_minute_per_profile": round(60 / defaults.poke_interval_seconds, 1),
        }
    }


if __name__ == "__main__":
    import sys

    quick = "--quick" in sys.argv
    result = measure(samples=2, window=20.0, interval=5.0, min_age=10) if quick else measure()
    print(json.dumps(result, indent=2))
