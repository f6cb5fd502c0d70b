"""Configuration validation (messages name the variable), Parameter Store by
prefix (against moto's real local AWS API server), and graceful shutdown."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from app.config import ConfigError, Settings
from localdev import procs

from .conftest import ROOT, start_service

BASE = {"SESSION_STORE_ENDPOINT": "clustercfg.example.internal"}


def test_defaults():
    s = Settings.from_env(BASE)
    assert (s.store_port, s.store_tls, s.store_auth, s.idle_timeout, s.absolute_lifetime) == (6379, True, "password", 1800, 43200)
    assert (s.max_payload_bytes, s.http_port, s.workers, s.environment) == (4096, 8080, 1, "local")
    assert "hunter2" not in repr(Settings.from_env({**BASE, "SESSION_STORE_PASSWORD": "hunter2"}))


@pytest.mark.parametrize(
    "env, variable",
    [
        ({}, "SESSION_STORE_ENDPOINT"),
        ({"SESSION_STORE_PORT": "abc"}, "SESSION_STORE_PORT"),
        ({"SESSION_STORE_PORT": "70000"}, "SESSION_STORE_PORT"),
        ({"SESSION_STORE_TLS": "maybe"}, "SESSION_STORE_TLS"),
        ({"SESSION_STORE_AUTH": "kerberos"}, "SESSION_STORE_AUTH"),
        ({"SESSION_STORE_DB": "3"}, "SESSION_STORE_DB"),
        ({"SESSION_IDLE_TIMEOUT_SECONDS": "0"}, "SESSION_IDLE_TIMEOUT_SECONDS"),
        ({"SESSION_IDLE_TIMEOUT_SECONDS": "100", "SESSION_ABSOLUTE_LIFETIME_SECONDS": "50"}, "SESSION_ABSOLUTE_LIFETIME_SECONDS"),
        ({"SESSION_MAX_PAYLOAD_BYTES": "-1"}, "SESSION_MAX_PAYLOAD_BYTES"),
        ({"SESSION_WORKERS": "0"}, "SESSION_WORKERS"),
        ({"SESSION_SERVED_BY_HEADER": "2"}, "SESSION_SERVED_BY_HEADER"),
        ({"SESSION_STORE_CA_FILE": "/nonexistent/ca.pem"}, "SESSION_STORE_CA_FILE"),
        ({"SESSION_STORE_AUTH": "iam"}, "SESSION_STORE_USERNAME"),
        ({"SESSION_STORE_AUTH": "iam", "SESSION_STORE_USERNAME": "u"}, "SESSION_STORE_CLUSTER_NAME"),
        ({"SESSION_STORE_AUTH": "iam", "SESSION_STORE_USERNAME": "u", "SESSION_STORE_CLUSTER_NAME": "c"}, "AWS_REGION"),
    ],
)
def test_invalid_values_name_the_variable(env, variable):
    full = {**BASE, **env} if "SESSION_STORE_ENDPOINT" != variable else env
    with pytest.raises(ConfigError) as e:
        Settings.from_env(full)
    assert variable in str(e.value)


def test_serve_with_bad_config_exits_2_naming_the_variable():
    env = {"PATH": os.environ["PATH"], "SESSION_STORE_ENDPOINT": "x", "SESSION_STORE_PORT": "nope"}
    r = subprocess.run([sys.executable, "-m", "app", "serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "SESSION_STORE_PORT" in r.stderr


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    exe = shutil.which("moto_server") or os.path.join(os.path.dirname(sys.executable), "moto_server")
    if not os.path.exists(exe):
        pytest.skip("moto_server not installed")
    port = procs.free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    proc = procs.start_process([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        procs.wait_for_port(port, timeout=60, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        procs.stop_process(proc)


def test_parameters_read_by_prefix_from_parameter_store(moto, monkeypatch):
    import boto3

    aws = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": moto}
    for k, v in aws.items():
        monkeypatch.setenv(k, v)
    ssm = boto3.client("ssm", region_name="eu-west-1", endpoint_url=moto)
    prefix = "/session-app/staging"
    values = {
        "memorydb/endpoint": "clustercfg.staging.example",
        "memorydb/port": "6380",
        "memorydb/username": "session-app",
        "memorydb/tls": "true",
        "memorydb/auth-mode": "iam",
        "memorydb/cluster-name": "session-app-staging",
        "config/redis-db": "0",
        "config/session-timeout": "900",
        "config/session-absolute-lifetime": "7200",
    }
    for k, v in values.items():
        ssm.put_parameter(Name=f"{prefix}/{k}", Value=v, Type="String", Overwrite=True)
    ssm.put_parameter(Name="/session-app/prod/memorydb/endpoint", Value="prod.example", Type="String", Overwrite=True)

    s = Settings.from_env({**aws, "SESSION_PARAMETER_PREFIX": prefix, "SESSION_IDLE_TIMEOUT_SECONDS": "1000"})
    assert s.store_endpoint == "clustercfg.staging.example"  # not prod's: per-environment prefix
    assert s.store_port == 6380 and s.store_auth == "iam" and s.store_cluster_name == "session-app-staging"
    assert s.absolute_lifetime == 7200
    assert s.idle_timeout == 1000  # an explicit environment variable wins


def test_sigterm_lets_in_flight_request_finish(service_factory, tmp_path):
    svc = service_factory()
    with socket.create_connection(("127.0.0.1", svc.port), timeout=20) as s:
        body = json.dumps({"data": {"in": "flight"}}).encode()
        s.sendall(
            b"POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body[:5]
        )
        time.sleep(0.5)
        svc.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert svc.proc.poll() is None  # still finishing the request
        s.sendall(body[5:])
        resp = s.recv(65536)
    assert resp.startswith(b"HTTP/1.1 201"), resp[:200]
    assert svc.proc.wait(25) == 0
    logs = svc.logs()
    assert '"msg":"stopped"' in logs
    assert '"SessionsCreated":1' in logs  # metrics flushed (EMF) at shutdown
    emf = [json.loads(l) for l in logs.splitlines() if '"_aws"' in l]
    assert emf and emf[-1]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "SessionApp"
    assert emf[-1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Environment"]]
    assert emf[-1]["Environment"] == "local"


def test_two_worker_processes_serve_and_stop(service_factory):
    svc = service_factory(SESSION_WORKERS=2)
    with svc.client() as c:
        r = c.post("/api/session", json={"data": {"w": 2}})
        assert r.status_code == 201
        sid = r.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        for _ in range(20):  # whichever worker answers, the session is there
            assert c.get("/api/session", headers={"Cookie": f"sid={sid}"}).status_code == 200
    pids = [int(p) for p in open(f"/proc/{svc.proc.pid}/task/{svc.proc.pid}/children").read().split()]
    assert len(pids) >= 2
    svc.proc.send_signal(signal.SIGTERM)
    svc.proc.wait(30)
    time.sleep(0.5)
    assert not any(procs.pid_alive(p) for p in pids)


def test_hostname_checks_off_require_a_ca_file():
    """Without the name check, any certificate the system trust store accepts would pass."""
    with pytest.raises(ConfigError, match="SESSION_STORE_CA_FILE is required"):
        Settings.from_env({"SESSION_STORE_ENDPOINT": "h", "SESSION_STORE_TLS_CHECK_HOSTNAME": "false"},
                          use_parameter_store=False)


@pytest.mark.parametrize(("name", "value", "rule"), [
    ("SESSION_LIMIT_ACTION", "drop", "evict-oldest"),
    ("SESSION_IDLE_SLIDE_SECONDS", "5000", "between 1 and 3600"),
    ("SESSION_MAX_SESSIONS_PER_USER", "0", "between 1 and 1000"),
    ("SESSION_ALLOWED_ORIGINS", "https://ok.example,evil", "is not an origin"),
    ("SESSION_TRUSTED_CALLER_ARNS", "arn:aws:iam::123:role/x", "is not an IAM role ARN"),
])
def test_trust_settings_are_validated_naming_the_variable(name, value, rule):
    with pytest.raises(ConfigError, match=name) as raised:
        Settings.from_env({"SESSION_STORE_ENDPOINT": "h", name: value}, use_parameter_store=False)
    assert rule in str(raised.value)


# Every declared range (app/contract.py), at its edges: inside passes, outside names the
# variable and the range. The other variables are set so no rule across variables interferes.
from app.contract import SETTINGS as CONTRACT  # noqa: E402

_RANGED = [row for row in CONTRACT if row.kind in ("int", "float") and row.env != "SESSION_STORE_DB"]


def _edge_env(row, value) -> dict[str, str]:
    env = {**BASE, "SESSION_IDLE_TIMEOUT_SECONDS": "7200", "SESSION_ABSOLUTE_LIFETIME_SECONDS": "31536000"}
    if row.env == "SESSION_ABSOLUTE_LIFETIME_SECONDS":
        env["SESSION_IDLE_TIMEOUT_SECONDS"] = "2"
    env[row.env] = str(value)
    return env


@pytest.mark.parametrize("row", _RANGED, ids=lambda row: row.env)
def test_every_declared_range_is_enforced_at_its_edges(row):
    step = 1 if row.kind == "int" else 0.001
    for value in (row.low, row.high):
        settings = Settings.from_env(_edge_env(row, value), use_parameter_store=False)
        assert getattr(settings, row.attr) == pytest.approx(value * row.scale)
    for value in (row.low - step, row.high + step):
        with pytest.raises(ConfigError, match=row.env) as raised:
            Settings.from_env(_edge_env(row, value), use_parameter_store=False)
        assert f"between {row.low} and {row.high}" in str(raised.value)


def test_every_settings_field_read_from_the_environment_is_declared():
    import dataclasses

    declared = {row.attr for row in CONTRACT if row.attr}
    # Fields no variable sets (fixed by the code): the rest must come from the contract.
    fixed = {"max_depth", "max_keys", "store_max_connections", "retry_after_seconds", "graceful_shutdown_seconds"}
    assert declared | fixed == {f.name for f in dataclasses.fields(Settings)}


def test_a_store_endpoint_with_a_port_is_refused_naming_the_port_variable():
    with pytest.raises(ConfigError, match="without a port .*SESSION_STORE_PORT"):
        Settings.from_env({"SESSION_STORE_ENDPOINT": "clustercfg.x.memorydb.eu-west-1.amazonaws.com:6379"},
                          use_parameter_store=False)
