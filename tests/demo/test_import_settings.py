"""scripts/import_airflow_settings.py: astro airflow_settings.yaml into a real (temporary) Airflow."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "import_airflow_settings.py"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def _load_script():
    spec = importlib.util.spec_from_file_location("import_airflow_settings", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


importer = _load_script()

SETTINGS = """\
airflow:
  connections:
    - conn_id: sftp_demo
      conn_type: sftp
      conn_host: 127.0.0.1
      conn_port: ${DEMO_SFTP_PORT}
      conn_login: demo
      conn_password: ${DEMO_SFTP_PASSWORD}
      conn_extra:
        host_key: ${DEMO_SFTP_HOST_KEY}
        conn_timeout: 10
    - conn_id: courtfeed_target
      conn_type: generic
      conn_host: ${TARGET_PATH:-/default/target.db}
  pools:
    - pool_name: courtfeed_load
      pool_slot: 3
      pool_description: loads into the target
  variables:
    - variable_name: courtfeed_greeting
      variable_value: "cost is $${NOT_A_VAR}"
"""

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIICKs1Nuu+CGJBmekQkltt9Qs6+uHlGjQTYsHWe5p6Sn"
ENV = {"DEMO_SFTP_PORT": "2222", "DEMO_SFTP_PASSWORD": "pw-from-env", "DEMO_SFTP_HOST_KEY": HOST_KEY}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "airflow_settings.yaml"
    path.write_text(text)
    return path


# -- conversion (no Airflow needed) ------------------------------------------------------------


def test_converts_to_airflow_json_with_env_substitution(tmp_path):
    settings = importer.load_settings(_write(tmp_path, SETTINGS), ENV)

    sftp = settings["connections"]["sftp_demo"]
    assert sftp["conn_type"] == "sftp" and sftp["host"] == "127.0.0.1" and sftp["login"] == "demo"
    assert sftp["port"] == 2222
    assert sftp["password"] == "pw-from-env"
    assert json.loads(sftp["extra"]) == {"host_key": HOST_KEY, "conn_timeout": 10}
    assert settings["connections"]["courtfeed_target"]["host"] == "/default/target.db"
    assert settings["pools"] == {
        "courtfeed_load": {"slots": 3, "description": "loads into the target", "include_deferred": False}
    }
    assert settings["variables"]["courtfeed_greeting"]["value"] == "cost is ${NOT_A_VAR}"


def test_missing_env_var_is_named_but_no_value_is_echoed(tmp_path):
    env = {k: v for k, v in ENV.items() if k != "DEMO_SFTP_HOST_KEY"}

    with pytest.raises(importer.SettingsError) as info:
        importer.load_settings(_write(tmp_path, SETTINGS), env)

    assert any("DEMO_SFTP_HOST_KEY is not set" in p for p in info.value.problems)
    assert "pw-from-env" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("airflow: [\n", "not valid YAML at line"),
        ("- just\n- a list\n", "top-level 'airflow:' key"),
        ("airflow:\n  connections: {conn_id: x}\n", "airflow.connections must be a list"),
        ("airflow:\n  connections:\n    - conn_type: sftp\n", "conn_id is required"),
        ("airflow:\n  connections:\n    - conn_id: x\n", "conn_type is required"),
        (
            "airflow:\n  connections:\n    - {conn_id: x, conn_type: sftp, conn_port: abc}\n",
            "conn_port must be",
        ),
        (
            "airflow:\n  connections:\n    - {conn_id: x, conn_type: sftp, conn_hots: h}\n",
            "unknown key 'conn_hots'",
        ),
        (
            "airflow:\n  connections:\n    - {conn_id: x, conn_type: a}\n    - {conn_id: x, conn_type: b}\n",
            "duplicate",
        ),
        (
            "airflow:\n  connections:\n    - {conn_id: x, conn_type: a, conn_extra: '{bad'}\n",
            "conn_extra must be",
        ),
        ("airflow:\n  pools:\n    - {pool_name: p}\n", "pool_slot is required"),
        ("airflow:\n  variables:\n    - {variable_name: v}\n", "variable_value is required"),
        ("airflow:\n  dags: []\n", "unknown key(s) ['dags']"),
    ],
)
def test_bad_file_exits_2_with_a_clear_message(tmp_path, text, expected):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(_write(tmp_path, text)), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert expected in result.stderr
    assert result.stderr.startswith("error: ")


def test_missing_file_exits_2(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "nope.yaml")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "cannot read" in result.stderr


# -- against a real, migrated Airflow ----------------------------------------------------------


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow_home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    return env


def _airflow_json(env, *args):
    out = subprocess.run([AIRFLOW, *args, "-o", "json"], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def _run_importer(env, path):
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(path)], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.integration  # a migrated Airflow metadata DB and ~10 Airflow CLI calls: slow
def test_imports_then_reimport_overwrites(airflow_env, tmp_path):
    env = dict(airflow_env, **ENV, TARGET_PATH="/run/target.db")

    result = _run_importer(env, _write(tmp_path, SETTINGS))

    assert result.returncode == 0, result.stderr
    assert "pw-from-env" not in result.stdout + result.stderr
    [conn] = _airflow_json(env, "connections", "get", "sftp_demo")
    assert (conn["conn_type"], conn["host"], int(conn["port"]), conn["login"]) == (
        "sftp",
        "127.0.0.1",
        2222,
        "demo",
    )
    assert conn["password"] == "pw-from-env"
    assert conn["extra_dejson"]["host_key"] == HOST_KEY
    assert int(conn["extra_dejson"]["conn_timeout"]) == 10  # the CLI prints every value as text
    [pool] = _airflow_json(env, "pools", "get", "courtfeed_load")
    assert int(pool["slots"]) == 3
    got = subprocess.run(
        [AIRFLOW, "variables", "get", "courtfeed_greeting"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert got.stdout.strip() == "cost is ${NOT_A_VAR}"

    # The file wins over what Airflow already has: a second import replaces, not skips.
    changed = SETTINGS.replace("conn_login: demo", "conn_login: other").replace(
        "pool_slot: 3", "pool_slot: 7"
    )
    env["DEMO_SFTP_PORT"] = "2299"
    result = _run_importer(env, _write(tmp_path, changed))

    assert result.returncode == 0, result.stderr
    [conn] = _airflow_json(env, "connections", "get", "sftp_demo")
    assert conn["login"] == "other" and int(conn["port"]) == 2299
    [pool] = _airflow_json(env, "pools", "get", "courtfeed_load")
    assert int(pool["slots"]) == 7


@pytest.mark.integration
def test_airflow_failure_exits_1_with_its_error(tmp_path):
    # An AIRFLOW_HOME whose metadata DB was never migrated: Airflow's import itself fails.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(ENV, AIRFLOW_HOME=str(tmp_path / "unmigrated"), AIRFLOW__CORE__LOAD_EXAMPLES="False")

    result = _run_importer(env, _write(tmp_path, SETTINGS))

    assert result.returncode == 1
    assert "error: the Airflow import failed" in result.stderr
    assert "pw-from-env" not in result.stdout + result.stderr
