"""examples/flask runs as the stack runs it: from the synthesized task definition of a
`session-dev` configured for it, against the local Redis Cluster (TLS, ACL user).

The `[service]` contract settings under test (a copy of config/ via SESSION_CONFIG_DIR):
`container_port` (a free port: the container shares the host's loopback here, Fargate gives
each task its own), `command` (gunicorn bound to that port, overriding the image's CMD),
`health_check_command` with `{port}{path}`, `user`. Started as tests/image/test_container.py
starts the service (localdev.container: read-only root, /tmp volume, no capabilities).

Store values: the task's plain environment comes from the task definition; the store's are
set directly (local endpoint, password, CA) instead of through Parameter Store, whose
resolution by ARN tests/image/test_container.py proves for the same `secrets`. amd64 (this
host's architecture; see tests/image/test_release_example.py for why).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import httpx
import pytest

from localdev import procs
from localdev.container import Container
from deploy.image import build_image
from deploy.synthesis import ROOT, synthesize
from stacks.config_loader import CONFIG_DIR_VARIABLE
from tests.image.ecs import Stack

DOCKERFILE = ROOT / "examples" / "flask" / "Dockerfile"
PY_CHECK = ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:{port}{path}', timeout=3)"]


@pytest.fixture(scope="module")
def port() -> int:
    return procs.free_port()


@pytest.fixture(scope="module")
def definition(tmp_path_factory, port) -> dict:
    config = tmp_path_factory.mktemp("example-config") / "config"
    shutil.copytree(ROOT / "config", config)
    dev = config / "dev.toml"
    service = {"cpu_architecture": "X86_64", "container_port": port, "health_check_command": PY_CHECK,
               "command": ["gunicorn", "--bind", f"0.0.0.0:{port}", "--workers", "1", "--worker-tmp-dir", "/tmp",
                           "app:app"]}
    keys = "".join(f"{key} = {json.dumps(value)}\n" for key, value in service.items())
    dev.write_text(dev.read_text().replace("\n[service]\n", f"\n[service]\n{keys}", 1))
    outdir = tmp_path_factory.mktemp("synth")
    result = synthesize(outdir, env={CONFIG_DIR_VARIABLE: str(config)})
    assert result.returncode == 0, result.stderr[-3000:]
    return Stack.load(outdir / "stacks" / "session-dev" / "cdk.tf.json").container_definition()


@pytest.fixture(scope="module")
def container():
    image = build_image("amd64", say=lambda line: print(line, flush=True), dockerfile=DOCKERFILE, context=ROOT)
    with Container.of(image.name) as c:
        yield c


@pytest.fixture(scope="module")
def mounts(tmp_path_factory, cluster) -> dict[str, Path]:
    scratch = tmp_path_factory.mktemp("task-tmp")
    os.chmod(scratch, 0o1777)
    ca_dir = tmp_path_factory.mktemp("ca")
    (ca_dir / "ca.crt").write_bytes(Path(cluster.ca_file).read_bytes())
    os.chmod(ca_dir, 0o755)
    return {"/tmp": scratch, "/mnt": ca_dir}


@pytest.fixture(scope="module")
def environment(definition, container, cluster) -> dict[str, str]:
    host, store_port = cluster.endpoint
    plain = {e["name"]: e["value"] for e in definition["environment"]}  # ${...} values are passed through
    return {**container.image_env(), "HOME": "/tmp", **plain,
            "SESSION_STORE_ENDPOINT": host, "SESSION_STORE_PORT": str(store_port), "SESSION_STORE_TLS": "true",
            "SESSION_STORE_USERNAME": cluster.username, "SESSION_STORE_PASSWORD": cluster.password,
            "SESSION_STORE_AUTH": "password", "SESSION_STORE_CA_FILE": "/mnt/ca.crt"}


@pytest.fixture(scope="module")
def running(definition, container, environment, mounts, port, tmp_path_factory):
    command = [*(definition.get("entryPoint") or container.config.get("Entrypoint") or []),
               *(definition.get("command") or container.config.get("Cmd") or [])]
    log = tmp_path_factory.mktemp("example") / "example.log"
    proc = container.start(command, environment, user=definition["user"], log=log, volumes=mounts,
                           read_only=definition["readonlyRootFilesystem"])
    hc = definition["healthCheck"]
    deadline = time.monotonic() + hc["startPeriod"] + hc["retries"] * hc["interval"]
    try:
        while not procs.port_open(port):
            assert proc.poll() is None, f"the example exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"not listening:\n{log.read_text()[-3000:]}"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        procs.stop_process(proc, timeout=definition["stopTimeout"])


def test_the_task_definition_carries_the_contract_settings(definition, port):
    assert definition["portMappings"][0]["containerPort"] == port
    assert definition["command"][:3] == ["gunicorn", "--bind", f"0.0.0.0:{port}"]
    assert definition["healthCheck"]["command"] == [
        "CMD", "python", "-c", f"import urllib.request as u; u.urlopen('http://127.0.0.1:{port}/healthz', timeout=3)"]
    assert definition["user"] == "10001:10001" and definition["readonlyRootFilesystem"] is True


def test_the_health_check_command_passes_inside_the_container(running, definition, container, environment, mounts):
    kind, *command = definition["healthCheck"]["command"]
    assert kind == "CMD"
    result = container.run(command, environment, user=definition["user"], timeout=120, volumes=mounts,
                           read_only=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_healthz_answers_without_the_store_and_sessions_live_in_the_cluster(running, cluster):
    assert httpx.get(f"{running}/healthz", timeout=10).status_code == 200
    with httpx.Client(base_url=running, timeout=30) as client:
        first = client.get("/")
        assert first.status_code == 200, first.text
        assert first.json() == {"visits": 1} and "httponly" in first.headers["set-cookie"].lower()
        assert client.get("/").json() == {"visits": 2}  # the same server-side session, read back
    assert httpx.get(f"{running}/", timeout=30).json() == {"visits": 1}  # no cookie: a new session


def test_the_example_installs_exactly_the_locked_versions():
    """examples/flask/requirements.txt: every pin and hash as in Pipfile.lock (no drift)."""
    lock = json.loads((ROOT / "Pipfile.lock").read_text())
    locked = {**lock["develop"], **lock["default"]}
    lines = [line for line in (DOCKERFILE.parent / "requirements.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert lines
    for line in lines:
        requirement, *hashes = line.split(" --hash=")
        name, version = requirement.split(";")[0].strip().split("==")
        assert locked[name]["version"] == f"=={version}", name
        assert sorted(hashes) == sorted(locked[name]["hashes"]), name
    pinned = {line.split("==")[0] for line in lines}
    wanted = {line.split("==")[0] for line in (DOCKERFILE.parent / "requirements.in").read_text().splitlines()
              if line and not line.startswith("#")}
    assert wanted <= pinned
