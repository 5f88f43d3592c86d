"""What the observability tests share: the OpenLineage receiver, the dashboard's metrics route
served on loopback, and a Prometheus scraping it with the project's alert rules."""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.services._process import free_port, port_is_open, wait_until
from tests.services.prometheus import PrometheusService, start_prometheus

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "prometheus" / "courtfeed-rules.yml"


class MetricsServer:
    """The dashboard app (create_app) on a loopback port: its /metrics route as Prometheus sees it."""

    def __init__(self, target_url: str, token: str):
        import uvicorn

        from courtfeed.web.app import create_app

        self.port = free_port()
        self.token = token
        config = uvicorn.Config(
            create_app(target_url=target_url), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="metrics-server")
        self.thread.start()
        if not wait_until(lambda: port_is_open(self.port), 30):
            raise RuntimeError("the metrics server did not start")

    def scrape_config(self) -> dict:
        return {
            "job_name": "courtfeed",
            "metrics_path": "/metrics",
            "static_configs": [{"targets": [f"127.0.0.1:{self.port}"]}],
            "authorization": {"type": "Bearer", "credentials": self.token},
        }

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve_metrics(target_url: str, include: Path, patch: pytest.MonkeyPatch) -> MetricsServer:
    """The metrics route over ``target_url``, reading the profiles of ``include``."""
    token = secrets.token_urlsafe(16)
    patch.setenv("COURTFEED_INCLUDE", str(include))
    patch.setenv("COURTFEED_METRICS_TOKEN", token)
    return MetricsServer(target_url, token)


def scraping(server: MetricsServer) -> PrometheusService:
    """A Prometheus scraping ``server`` every second with the project's rules, once it sees it up."""
    prometheus = start_prometheus([server.scrape_config()], rule_files=[RULES])
    up = lambda: any(t["health"] == "up" for t in prometheus.targets())  # noqa: E731
    if not wait_until(up, 30, interval=0.5):
        raise RuntimeError(f"Prometheus never scraped the metrics: {prometheus.targets()}")
    return prometheus


def wait_for(check, timeout: float, what: str, interval: float = 0.5):
    """Poll ``check`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not seen within {timeout:.0f} s")


def write_include(root: Path, profiles: list[dict]) -> Path:
    """An include/ folder with these profiles and the project's templates and expectation suites."""
    include = root / "include"
    (include / "profiles").mkdir(parents=True)
    for part in ("templates", "expectations"):
        shutil.copytree(REPO / "include" / part, include / part)
    for profile in profiles:
        (include / "profiles" / f"{profile['name']}.yaml").write_text(yaml.safe_dump(profile))
    return include
