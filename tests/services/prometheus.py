"""A private Prometheus (Debian package ``prometheus``) on a loopback port, with its own config,
rules and data folder, for tests that scrape courtfeed's metrics and read alerts back through
its HTTP API (``/api/v1/query``, ``/api/v1/alerts``)."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.services._process import (
    free_port,
    make_state_dir,
    read_log_tail,
    register_cleanup,
    remove_tree,
    start_reaper,
    stop_process,
    stop_reaper,
    unregister_cleanup,
)


def prometheus_binary() -> str:
    found = shutil.which("prometheus") or "/usr/bin/prometheus"
    if not Path(found).exists():
        raise RuntimeError("prometheus is missing: run `make system-deps` (Debian package prometheus)")
    return found


@dataclass
class PrometheusService:
    port: int
    base_dir: Path
    log_path: Path
    _proc: subprocess.Popen | None = field(default=None, repr=False)
    _reaper: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, path: str, **params: str) -> dict:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as response:
            answer = json.loads(response.read())
        if answer.get("status") != "success":
            raise AssertionError(f"Prometheus answered {answer}")
        return answer["data"]

    def query(self, expr: str) -> list[dict]:
        """The instant vector of ``expr`` now: [{metric: {labels}, value: float}]."""
        data = self.api("query", query=expr)
        return [{"metric": r["metric"], "value": float(r["value"][1])} for r in data["result"]]

    def alerts(self) -> list[dict]:
        return self.api("alerts")["alerts"]

    def targets(self) -> list[dict]:
        return self.api("targets")["activeTargets"]

    def log_tail(self) -> str:
        return read_log_tail(self.log_path)

    def stop(self) -> None:
        unregister_cleanup(self.stop)
        if self._proc is not None:
            stop_process(self._proc, grace_seconds=5)
            self._proc = None
        stop_reaper(self._reaper)
        remove_tree(self.base_dir)


def start_prometheus(
    targets: list[dict],
    rule_files: list[Path] = (),  # type: ignore[assignment]
    scrape_interval: str = "1s",
    evaluation_interval: str = "1s",
    start_timeout: float = 60.0,
) -> PrometheusService:
    """Prometheus scraping ``targets`` (each a scrape_config: job_name, metrics_path,
    static_configs, authorization ...), evaluating ``rule_files`` (copied into its folder)."""
    base = make_state_dir("courtfeed-prometheus-")
    rules = []
    for rule_file in rule_files:
        copy = base / Path(rule_file).name
        shutil.copy(rule_file, copy)
        rules.append(str(copy))
    config = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": evaluation_interval},
        "rule_files": rules,
        "scrape_configs": targets,
    }
    (base / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    cmd = [
        prometheus_binary(),
        f"--config.file={base / 'prometheus.yml'}",
        f"--storage.tsdb.path={base / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
    ]
    log_path = base / "prometheus.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd, cwd=base, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    service = PrometheusService(port=port, base_dir=base, log_path=log_path, _proc=proc)
    register_cleanup(service.stop)
    service._reaper = start_reaper(f"kill -9 -{proc.pid}; rm -rf {shlex.quote(str(base))}")
    deadline = time.monotonic() + start_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{service.url}/-/ready", timeout=2) as response:
                if response.status == 200:
                    return service
        except OSError:
            pass
        time.sleep(0.3)
    tail = service.log_tail()
    service.stop()
    raise RuntimeError(f"Prometheus was not ready within {start_timeout:.0f} s; its log ends with:\n{tail}")
