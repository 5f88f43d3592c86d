"""docker-compose.yaml: a valid, scalable CeleryExecutor stack with no secrets in the file."""

from __future__ import annotations

import json
import re

import pytest

from tests.deploy.conftest import SECRETS, run_compose, write_env_file

AIRFLOW_SERVICES = [
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "airflow-init",
]
# Long-running Airflow components that must wait for the database migration.
AFTER_INIT = [name for name in AIRFLOW_SERVICES if name != "airflow-init"]
REQUIRED_SERVICES = [*AIRFLOW_SERVICES, "postgres", "redis", "courtfeed-target", "sftp"]


def mounts(service: dict) -> dict[str, str]:
    """container path -> source (a host path or a named volume), from the resolved short syntax."""
    found = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume.get("source"), volume["target"]
        found[target] = source
    return found


def container_port(port) -> str:
    """The container side of a published port, long syntax or "host_ip:host_port:container"."""
    return str(port["target"]) if isinstance(port, dict) else str(port).rsplit(":", 1)[-1].split("/")[0]


def test_config_is_valid(secrets_env_file):
    result = run_compose(secrets_env_file, "config", "-q")
    assert result.returncode == 0, result.stderr


def test_refuses_to_start_without_the_secrets(tmp_path):
    env_file = write_env_file(tmp_path / "empty.env", {})
    result = run_compose(env_file, "config", "-q")
    assert result.returncode != 0
    assert any(name in result.stderr for name in SECRETS), result.stderr


# Every secret, the database and Redis passwords included: none has a well-known default.
@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_each_secret_is_mandatory(tmp_path, missing):
    env_file = write_env_file(tmp_path / "partial.env", {k: v for k, v in SECRETS.items() if k != missing})
    result = run_compose(env_file, "config", "-q")
    assert result.returncode != 0
    assert missing in result.stderr


def test_required_services_exist(resolved_compose):
    missing = [name for name in REQUIRED_SERVICES if name not in resolved_compose["services"]]
    assert not missing


def test_every_airflow_service_uses_the_project_image_and_celery(resolved_compose):
    services = resolved_compose["services"]
    images = {services[name]["image"] for name in AIRFLOW_SERVICES}
    assert len(images) == 1
    for name in AIRFLOW_SERVICES:
        assert services[name]["build"]["dockerfile"] == "docker/Dockerfile", name
        assert services[name]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert services[name]["environment"]["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://"), name


def test_metadata_database_is_the_postgres_service(resolved_compose):
    services = resolved_compose["services"]
    assert services["postgres"]["image"].startswith("postgres:16")
    conn = services["airflow-scheduler"]["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert re.match(r"postgresql\+psycopg2://airflow:[^@]+@postgres/airflow$", conn)


def test_every_airflow_service_mounts_the_project_and_shares_no_disk(resolved_compose):
    services = resolved_compose["services"]
    named_volumes = set(resolved_compose.get("volumes", {}))
    for name in AIRFLOW_SERVICES:
        service = services[name]
        found = mounts(service)
        for folder in ("dags", "plugins", "include", "logs"):
            assert found.get(f"/opt/airflow/{folder}", "").endswith(f"/{folder}"), (name, folder)
        assert not set(found.values()) & named_volumes, (name, found)
        assert service["environment"]["COURTFEED_INCLUDE"] == "/opt/airflow/include", name


def test_staging_is_the_s3_service(resolved_compose):
    from airflow.models.connection import Connection

    services = resolved_compose["services"]
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["COURTFEED_STAGING"] == "s3://courtfeed-staging/staging", name
        assert env["COURTFEED_STAGING_CONN_ID"] == "courtfeed_staging", name
        conn = Connection.from_json(env["AIRFLOW_CONN_COURTFEED_STAGING"], conn_id="courtfeed_staging")
        assert conn.conn_type == "aws"
        assert conn.login == SECRETS["STAGING_S3_ACCESS_KEY"]
        assert conn.password == SECRETS["STAGING_S3_SECRET_KEY"]
        assert conn.extra_dejson["endpoint_url"] == "http://staging-s3:8333"
    s3 = services["staging-s3"]
    assert "weed server" in " ".join(s3["command"]) and "-s3.config=" in " ".join(s3["command"])
    assert s3["environment"]["STAGING_S3_SECRET_KEY"] == SECRETS["STAGING_S3_SECRET_KEY"]
    assert not s3.get("ports"), "the staging store is reachable only inside the compose network"
    for name in AFTER_INIT + ["airflow-init"]:
        assert services[name]["depends_on"]["staging-s3"]["condition"] == "service_healthy", name


def test_redis_requires_a_password(resolved_compose):
    services = resolved_compose["services"]
    redis = services["redis"]
    assert redis["environment"]["REDISCLI_AUTH"] == SECRETS["REDIS_PASSWORD"]
    assert "--requirepass" in " ".join(redis["command"])
    for name in AIRFLOW_SERVICES:
        broker = services[name]["environment"]["AIRFLOW__CELERY__BROKER_URL"]
        assert broker == f"redis://:{SECRETS['REDIS_PASSWORD']}@redis:6379/0", name


def test_flower_is_opt_in_behind_basic_auth_on_loopback(resolved_compose, raw_compose):
    flower = raw_compose["services"]["flower"]
    assert flower["profiles"] == ["flower"]
    assert flower["environment"]["AIRFLOW__CELERY__FLOWER_BASIC_AUTH"] == "${FLOWER_BASIC_AUTH:-}"
    script = "\n".join(flower["command"])
    assert "exec airflow celery flower" in script and "exit 1" in script
    assert flower["ports"] == ["${FLOWER_BIND:-127.0.0.1}:${FLOWER_PORT:-5555}:5555"]
    assert "--user" in " ".join(flower["healthcheck"]["test"])


def test_flower_refuses_to_start_without_basic_auth(resolved_compose):
    import subprocess

    script = resolved_compose["services"]["flower"]["command"][-1]
    env = {"PATH": "/usr/bin:/bin"}
    refused = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)
    assert refused.returncode == 1 and "FLOWER_BASIC_AUTH" in refused.stderr
    half = subprocess.run(
        ["bash", "-c", script],
        env={**env, "AIRFLOW__CELERY__FLOWER_BASIC_AUTH": "admin:"},
        capture_output=True,
    )
    assert half.returncode == 1


def test_the_auth_manager_is_fab(resolved_compose):
    for name in AIRFLOW_SERVICES:
        env = resolved_compose["services"][name]["environment"]
        assert (
            env["AIRFLOW__CORE__AUTH_MANAGER"]
            == "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
        ), name


def test_workers_can_be_scaled(resolved_compose):
    worker = resolved_compose["services"]["airflow-worker"]
    assert worker["command"] in ("celery worker", ["celery", "worker"])
    assert "container_name" not in worker
    assert not worker.get("ports")
    assert "hostname" not in worker


def test_long_running_services_wait_for_init(resolved_compose):
    services = resolved_compose["services"]
    for name in AFTER_INIT:
        assert (
            services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
        ), name


def test_init_migrates_creates_the_admin_and_the_pool(resolved_compose):
    init = resolved_compose["services"]["airflow-init"]
    assert init["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"
    assert init["environment"]["_AIRFLOW_WWW_USER_CREATE"] == "true"
    assert init["environment"]["_AIRFLOW_WWW_USER_PASSWORD"] == SECRETS["AIRFLOW_ADMIN_PASSWORD"]
    script = "\n".join(init["command"]) if isinstance(init["command"], list) else init["command"]
    assert "airflow pools set sftp_dropbox" in script
    assert init.get("restart", "no") == "no"


def test_apiserver_health_check_and_execution_api(resolved_compose):
    services = resolved_compose["services"]
    api = services["airflow-apiserver"]
    assert api["command"] in ("api-server", ["api-server"])
    check = " ".join(api["healthcheck"]["test"])
    assert "http://localhost:8080/api/v2/monitor/health" in check
    assert any(container_port(port) == "8080" for port in api["ports"])
    for name in AIRFLOW_SERVICES:
        assert (
            services[name]["environment"]["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
            == "http://airflow-apiserver:8080/execution/"
        ), name
    scheduler_check = " ".join(services["airflow-scheduler"]["healthcheck"]["test"])
    assert "8974/health" in scheduler_check
    assert services["airflow-scheduler"]["environment"]["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"


def test_secrets_come_from_their_variables(resolved_compose):
    env = resolved_compose["services"]["airflow-worker"]["environment"]
    assert env["AIRFLOW__CORE__FERNET_KEY"] == SECRETS["AIRFLOW_FERNET_KEY"]
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == SECRETS["AIRFLOW_JWT_SECRET"]
    assert env["AIRFLOW__API__SECRET_KEY"] == SECRETS["AIRFLOW_API_SECRET_KEY"]
    assert f":{SECRETS['AIRFLOW_DB_PASSWORD']}@" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert f":{SECRETS['AIRFLOW_DB_PASSWORD']}@" in env["AIRFLOW__CELERY__RESULT_BACKEND"]
    services = resolved_compose["services"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == SECRETS["AIRFLOW_DB_PASSWORD"]
    assert (
        services["courtfeed-target"]["environment"]["POSTGRES_PASSWORD"]
        == SECRETS["COURTFEED_TARGET_PASSWORD"]
    )


SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$|REDISCLI_AUTH", re.IGNORECASE)
# No secret may fall back to a default, the databases' and Redis's passwords included.
DEFAULT_ALLOWED: set[str] = set()
VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])[^}]*)?\}")


def raw_environments(raw_compose: dict):
    yield "x-airflow-common", raw_compose["x-airflow-common"]["environment"]
    for name, service in raw_compose["services"].items():
        yield name, service.get("environment") or {}


def test_no_secret_is_written_into_the_file(raw_compose):
    for service, environment in raw_environments(raw_compose):
        for key, value in environment.items():
            value = str(value)
            if SECRET_NAME.search(key):
                match = VARIABLE.fullmatch(value)
                assert match, f"{service}: {key} must be a ${{VARIABLE}}"
                variable, operator = match.group(1), match.group(2)
                assert operator in (None, ":?", "?") or variable in DEFAULT_ALLOWED, (
                    f"{service}: {key} has a default"
                )
            # Credentials inside URLs and the JSON connection: the password part is a variable.
            for password in re.findall(r"://[^:/@\s]*:([^@\s]+)@", value):
                assert VARIABLE.fullmatch(password), f"{service}: {key} has a password in its URL"
            if value.lstrip().startswith("{"):
                for password in re.findall(r'"password":\s*"([^"]*)"', value):
                    assert VARIABLE.fullmatch(password), f"{service}: {key} has a password in its JSON"


def test_target_connection_resolves_to_the_target_service(resolved_compose):
    from airflow.models.connection import Connection

    from courtfeed.target.db import url_from_airflow_connection

    value = resolved_compose["services"]["airflow-worker"]["environment"]["AIRFLOW_CONN_COURTFEED_TARGET"]
    json.loads(value)
    conn = Connection.from_json(value, conn_id="courtfeed_target")
    url = url_from_airflow_connection(conn)
    password = SECRETS["COURTFEED_TARGET_PASSWORD"]
    assert url == f"postgresql+psycopg2://courtfeed:{password}@courtfeed-target:5432/courtfeed"
    target = resolved_compose["services"]["courtfeed-target"]
    assert target["environment"]["POSTGRES_USER"] == conn.login
    assert target["environment"]["POSTGRES_DB"] == conn.schema
    assert "healthcheck" in target


def test_the_target_allows_prepared_transactions(resolved_compose):
    """A load's entities commit together through prepared transactions (target/branches.py)."""
    command = resolved_compose["services"]["courtfeed-target"]["command"]
    assert command[0] == "postgres"
    settings = dict(command[i + 1].split("=", 1) for i, arg in enumerate(command) if arg == "-c")
    assert int(settings["max_prepared_transactions"]) >= 5


def test_sftp_service_is_key_only_with_a_pinned_host_key(raw_compose, resolved_compose):
    raw = raw_compose["services"]["sftp"]
    assert not raw.get("environment"), "the drop box takes no passwords or settings by environment"
    assert "command" not in raw, "users come from the mounted key files, not from a user:password command"
    sftp = resolved_compose["services"]["sftp"]
    found = mounts(sftp)
    assert found["/etc/courtfeed-sftp/users"].endswith("/deploy/sftp/users")
    assert found["/etc/courtfeed-sftp/ssh_host_ed25519_key"].endswith("/deploy/sftp/ssh_host_ed25519_key")
    read_only = [v for v in raw["volumes"] if "./deploy/" in v]
    assert read_only and all(v.endswith(":ro") for v in read_only)
    assert any(container_port(port) == "22" for port in sftp["ports"])
    assert sftp["build"]["context"].endswith("/docker/sftp")


def networks_of(service: dict) -> set[str]:
    found = service.get("networks") or {"default": None}
    return set(found)


def test_the_drop_box_shares_no_network_with_the_services_behind_it(resolved_compose):
    services = resolved_compose["services"]
    assert networks_of(services["sftp"]) == {"dropbox"}
    readers = {"airflow-worker", "airflow-triggerer", "airflow-cli"}
    for name, service in services.items():
        if name == "sftp":
            continue
        expected = {"default", "dropbox"} if name in readers else {"default"}
        assert networks_of(service) == expected, name


def test_the_staging_store_keeps_master_volume_and_filer_to_itself_and_signs_their_requests(
    resolved_compose,
):
    command = " ".join(resolved_compose["services"]["staging-s3"]["command"])
    for flag in ("-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3.ip.bind=0.0.0.0"):
        assert flag in command
    assert "/etc/seaweedfs/security.toml" in command
    for section in ("jwt.signing", "jwt.signing.read", "jwt.filer_signing", "jwt.filer_signing.read"):
        assert f'"{section}"' in command, section


def test_the_target_database_log_keeps_no_row(resolved_compose):
    command = resolved_compose["services"]["courtfeed-target"]["command"]
    assert command[0] == "postgres"
    assert "log_error_verbosity=terse" in command and "log_min_error_statement=panic" in command


def test_the_dashboard_reads_through_its_read_only_role(resolved_compose):
    from airflow.models.connection import Connection

    services = resolved_compose["services"]
    env = services["airflow-apiserver"]["environment"]
    conn = Connection.from_json(env["AIRFLOW_CONN_COURTFEED_DASHBOARD"], conn_id="courtfeed_dashboard")
    assert (conn.login, conn.host, conn.schema) == ("courtfeed_dashboard", "courtfeed-target", "courtfeed")
    assert conn.password == SECRETS["COURTFEED_DASHBOARD_DB_PASSWORD"]
    for name in AIRFLOW_SERVICES:
        if name != "airflow-apiserver":
            assert "AIRFLOW_CONN_COURTFEED_DASHBOARD" not in services[name]["environment"], name
    init = services["airflow-init"]
    assert mounts(init)["/opt/courtfeed/sql"].endswith("/deploy/sql")
    assert "apply_dashboard_role" in " ".join(init["command"])
    assert (
        init["environment"]["COURTFEED_DASHBOARD_DB_PASSWORD"] == SECRETS["COURTFEED_DASHBOARD_DB_PASSWORD"]
    )
