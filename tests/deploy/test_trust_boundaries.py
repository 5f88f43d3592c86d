"""Who reaches what inside the compose stack, with docker-compose.yaml's own services running for
real: the internet-facing drop box (`sftp`) reaches neither the staging store nor the databases;
the staging store's master, volume and filer answer no other container, and inside its own
container they refuse an unsigned read of a staged file; the target PostgreSQL's log keeps no
row of a failed statement.

Only staging-s3, courtfeed-target and sftp are started (no Airflow), plus one-off containers of
the Airflow image on the stack's network, so this costs minutes, not the whole stack's start.
Marked `stack` (it builds the stack's images): run it with `make stack-test` or by path.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.deploy.stack import Stack, run_script, stack_env, wait_for

pytestmark = [pytest.mark.stack, pytest.mark.integration]

SERVICES = ("staging-s3", "courtfeed-target", "sftp")
STORE_INTERNAL_PORTS = (9333, 19333, 8080, 18080, 8888, 18888)

# Run inside staging-s3: a staged file's chunk is fetched from the volume server without a token,
# then with one signed by the store's own read key (the control), and the filer is asked
# without one. The file id comes from the filer's metadata, asked with a signed filer token.
UNSIGNED_READ = r"""
import json, sys, time, tomllib, urllib.error, urllib.request
import jwt
keys = tomllib.load(open("/etc/seaweedfs/security.toml", "rb"))["jwt"]
path = "/buckets/" + sys.argv[1]

def get(url, token=None):
    request = urllib.request.Request(url, headers={"Authorization": "Bearer " + token} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""

exp = int(time.time()) + 30
filer_token = jwt.encode({"exp": exp}, keys["filer_signing"]["read"]["key"], algorithm="HS256")
status, meta = get("http://127.0.0.1:8888" + path + "?metadata=true", filer_token)
fid = json.loads(meta)["chunks"][0]["file_id"]
volume_token = jwt.encode({"exp": exp, "fid": fid}, keys["signing"]["read"]["key"], algorithm="HS256")
out = {
    "filer_signed_metadata": status,
    "filer_unsigned": get("http://127.0.0.1:8888" + path)[0],
    "volume_unsigned": get("http://127.0.0.1:8080/" + fid)[0],
}
signed_status, body = get("http://127.0.0.1:8080/" + fid, volume_token)
out["volume_signed"] = signed_status
out["volume_signed_body"] = body.decode(errors="replace")
print("RESULT " + json.dumps(out))
"""

# Run in a one-off container of the Airflow image on the stack's default network (as any
# Airflow service is): the S3 port answers and takes a signed upload; the internal ports do not.
NEIGHBOUR = r"""
import json, os, socket, sys
import boto3
ports = {}
for port in [8333] + [int(p) for p in sys.argv[2].split(",")]:
    try:
        socket.create_connection(("staging-s3", port), timeout=5).close()
        ports[port] = "open"
    except OSError as exc:
        ports[port] = type(exc).__name__
s3 = boto3.client("s3", endpoint_url="http://staging-s3:8333", region_name="us-east-1",
                  aws_access_key_id=os.environ["STAGING_S3_ACCESS_KEY"],
                  aws_secret_access_key=os.environ["STAGING_S3_SECRET_KEY"])
bucket, key = sys.argv[1].split("/", 1)
s3.create_bucket(Bucket=bucket)
s3.put_object(Bucket=bucket, Key=key, Body=sys.argv[3].encode())
print("RESULT " + json.dumps({"ports": ports}))
"""


def result_of(output: str) -> dict:
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


@pytest.fixture(scope="module")
def stack():
    env = stack_env()
    service = Stack(env=env, run_dir=Path(env["STACK_RUN"]) / "trust")
    run_script("engine.sh", "start", env=env, timeout=120)
    try:
        run_script("base.sh", env=env, timeout=600)
        run_script("build.sh", env=env, timeout=1500)
        service.compose("down", "--volumes", "--remove-orphans", check=False)
        service.prepare()
        service.compose("up", "-d", "--no-deps", *SERVICES, timeout=600)
        staging = service.containers("staging-s3")[0]
        wait_for("the staging store's S3 port", lambda: _answers(service, staging), timeout=180, interval=2)
        yield service
    finally:
        service.teardown()


def _answers(service: Stack, container: str) -> bool:
    proc = service.docker(
        "exec", container, "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8333 && echo up", check=False
    )
    return proc.strip() == "up"


def ip_of(service: Stack, name: str) -> str:
    container = service.containers(name)[0]
    found = service.docker(
        "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", container
    ).split()
    assert found, name
    return found[0]


def one_off(service: Stack, script: str, *args: str) -> str:
    """A Python script in a one-off container of the Airflow image, on the default network only
    (as airflow-scheduler is). The script goes in through the mounted include/ folder."""
    path = service.run_dir / "include" / "probe.py"
    path.write_text(script)
    path.chmod(0o644)
    proc = service.compose(
        "run", "--rm", "--no-deps", "-T", "--entrypoint", "python",
        "-e", f"STAGING_S3_ACCESS_KEY={service.secrets['STAGING_S3_ACCESS_KEY']}",
        "-e", f"STAGING_S3_SECRET_KEY={service.secrets['STAGING_S3_SECRET_KEY']}",
        "airflow-scheduler", "/opt/airflow/include/probe.py", *args,
        timeout=300,
    )  # fmt: skip
    return proc.stdout


def test_the_drop_box_reaches_neither_the_staging_store_nor_the_databases(stack):
    sftp = stack.containers("sftp")[0]
    targets = {
        "staging-s3 by name": "staging-s3/8333",
        "staging-s3 S3 port": f"{ip_of(stack, 'staging-s3')}/8333",
        "courtfeed-target": f"{ip_of(stack, 'courtfeed-target')}/5432",
    }
    for port in STORE_INTERNAL_PORTS:
        targets[f"staging-s3 {port}"] = f"{ip_of(stack, 'staging-s3')}/{port}"
    for what, where in targets.items():
        proc = stack.docker(
            "exec",
            sftp,
            "timeout",
            "5",
            "bash",
            "-c",
            f"exec 3<>/dev/tcp/{where} && echo reached",
            check=False,
        )
        assert "reached" not in proc, what
    # the control: the same probe reaches the drop box's own sshd
    assert "reached" in stack.docker(
        "exec", sftp, "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/22 && echo reached"
    )


def test_a_staged_file_is_read_only_with_a_signed_token(stack):
    staged = f"courtfeed-staging/staging/run-{secrets.token_hex(4)}/rows.parquet"
    payload = "staged-" + secrets.token_hex(8)
    neighbour = result_of(
        one_off(stack, NEIGHBOUR, staged, ",".join(map(str, STORE_INTERNAL_PORTS)), payload)
    )
    # Another container of the stack's network reaches the S3 port (signed with the keys) only.
    assert neighbour["ports"]["8333"] == "open"
    assert all(neighbour["ports"][str(port)] != "open" for port in STORE_INTERNAL_PORTS), neighbour
    staging = stack.containers("staging-s3")[0]
    inside = result_of(stack.docker("exec", staging, "python", "-c", UNSIGNED_READ, staged))
    assert inside["filer_signed_metadata"] == 200
    assert inside["volume_unsigned"] == 401 and inside["filer_unsigned"] == 401
    assert inside["volume_signed"] == 200 and payload in inside["volume_signed_body"]


def test_the_target_database_log_keeps_no_value_of_a_failed_statement(stack):
    port = stack.compose("port", "courtfeed-target", "5432").stdout.strip().rsplit(":", 1)[1]
    url = f"postgresql+psycopg2://courtfeed:{stack.secrets['COURTFEED_TARGET_PASSWORD']}@127.0.0.1:{port}/courtfeed"
    planted = "Planted-" + secrets.token_hex(6)
    engine = sa.create_engine(url)
    wait_for("the target database", lambda: engine.connect().close() or True, timeout=120, interval=2)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE people (last_name text UNIQUE)")
        conn.exec_driver_sql(f"INSERT INTO people VALUES ('{planted}')")
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.exec_driver_sql(f"INSERT INTO people VALUES ('{planted}')")  # the value inside the statement
    engine.dispose()
    target = stack.containers("courtfeed-target")[0]
    log = ""
    for _ in range(10):  # the server writes its log line just after the client has its error
        log = stack.container_log(target)
        if "duplicate key" in log:
            break
        time.sleep(1)
    assert "duplicate key value violates unique constraint" in log  # the error is logged ...
    assert planted not in log  # ... without the row's value (DETAIL, STATEMENT)
