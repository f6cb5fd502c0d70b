"""The image built from app/Dockerfile runs as ECS runs it, from the synthesized task
definition of `session-dev`, against a local Redis Cluster (TLS, ACL user).

Taken from the task definition: the command (none there, so the image's ENTRYPOINT + CMD, as
ECS does), `environment`, `secrets` (each ARN resolved through the emulator's Parameter Store
with ssm:GetParameters, as the ECS agent does), `user`, `readonlyRootFilesystem` with its
`/tmp` volume, the `healthCheck` command, `stopTimeout`. The parameters are the ones the
stack creates, with values the stack would give them (literals, variable defaults, the names
of its cluster and user), except where the local store must differ.

What differs from ECS, and why:
- MemoryDB authenticates the tasks with IAM tokens (SigV4, `SESSION_STORE_AUTH=iam`), which a
  local Redis cannot verify. Here the `memorydb/auth-mode` parameter says `password` and one
  more SecureString parameter under the same prefix, `memorydb/password`, is injected as the
  secret `SESSION_STORE_PASSWORD`: the same ACL user name, the same Parameter Store path,
  a password instead of a token. The token itself is proven in tests/app/test_iam.py.
- The endpoint and port parameters point at the local cluster (127.0.0.1, a free port), and
  its throwaway CA is mounted read-only at /mnt/ca (SESSION_STORE_CA_FILE); MemoryDB's
  certificate chains to a public CA the image already trusts.
- Fargate gives each task its own network namespace (awsvpc); here the container shares the
  host's loopback, so SESSION_HTTP_PORT is a free port instead of 8080.
- No container runtime: localdev.container runs the process in a private mount namespace
  with the root file system read-only, /tmp a host folder (the task's volume), as uid:gid
  10001:10001 with no capabilities (ECS drops ALL). No PID namespace or init process
  (`initProcessEnabled`): SIGTERM goes straight to the service, as tini would forward it.
- The health check runs as ECS runs it (same command, environment and user, inside the
  container), but without its 5 s timeout: under qemu (arm64 on x86) Python starts slower
  than on a Graviton task. Durations are printed, not asserted.
- Under qemu (an arm64 image on an x86 host) every TLS handshake is emulated and, with the
  other suites running beside this one, connecting to the cluster's nodes can take longer than
  the service's 0.5 s connect timeout: the test then raises the store timeouts
  (SESSION_STORE_*_TIMEOUT_MS, `EMULATED_STORE_TIMEOUTS`); run natively they stay at the
  defaults ECS runs with.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from localdev import procs
from localdev.container import Container, process_identity
from tests.image.ecs import AgentView, parameter_arn, parameters, resolve_secrets

CA_DIR = "/mnt"  # an empty folder in every Debian image: the CA volume's mount point


@pytest.fixture(scope="module")
def container(service_image):
    with Container.of(service_image.name) as c:
        yield c


@pytest.fixture(scope="module")
def definition(stack) -> dict:
    return stack.container_definition()


@pytest.fixture(scope="module")
def task(stack, definition, ssm, account, cluster, container, service_image, tmp_path_factory) -> AgentView:
    """Put the stack's parameters into the emulator (local values), resolve like the agent."""
    region = stack.region()
    created = parameters(stack)
    prefix = next(name for name in created if name.endswith("/memorydb/endpoint")).removesuffix("memorydb/endpoint")
    host, port = cluster.endpoint
    local = {f"{prefix}memorydb/endpoint": host, f"{prefix}memorydb/port": str(port),
             f"{prefix}memorydb/auth-mode": "password"}
    for name, parameter in created.items():
        value = local.get(name) or stack.resolve(parameter.value)
        ssm.put_parameter(Name=name, Value=value, Type=parameter.type, Overwrite=True)
    password_name = f"{prefix}memorydb/password"
    ssm.put_parameter(Name=password_name, Value=cluster.password, Type="SecureString", Overwrite=True)

    known = {p.arn_reference: parameter_arn(region, account, p.name) for p in created.values()}
    arns = {s["name"]: stack.resolve(s["valueFrom"], known) for s in definition["secrets"]}
    arns["SESSION_STORE_PASSWORD"] = parameter_arn(region, account, password_name)
    secrets = resolve_secrets(ssm, arns)

    ca_dir = tmp_path_factory.mktemp("ca")
    (ca_dir / "ca.crt").write_bytes(Path(cluster.ca_file).read_bytes())
    os.chmod(ca_dir, 0o755)
    user = definition["user"]
    environment = {
        **container.image_env(),
        "HOME": container.home_of(user),
        **{e["name"]: stack.resolve(e["value"], strict=False) for e in definition["environment"]},
        **secrets,
        "SESSION_STORE_CA_FILE": f"{CA_DIR}/ca.crt",
        "SESSION_HTTP_PORT": str(procs.free_port()),
        **(EMULATED_STORE_TIMEOUTS if emulated(service_image.architecture) else {}),
    }
    view = AgentView(environment=environment, secrets=secrets, arns=arns)
    view.ca_dir = ca_dir  # type: ignore[attr-defined]
    return view


EMULATED_STORE_TIMEOUTS = {"SESSION_STORE_TIMEOUT_MS": "10000", "SESSION_STORE_CONNECT_TIMEOUT_MS": "5000",
                           "SESSION_STORE_SOCKET_TIMEOUT_MS": "5000"}


def emulated(architecture: str) -> bool:
    """The image's architecture is not the host's: every instruction runs under qemu."""
    host = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    return architecture != host


def volumes(definition: dict, scratch: Path, ca_dir: Path) -> dict[str, Path]:
    """The task's volumes (host folders, as Fargate's bind volumes) plus the CA folder."""
    (mount,) = definition["mountPoints"]
    assert not mount["readOnly"]
    return {mount["containerPath"]: scratch, CA_DIR: ca_dir}


def health_check(container, definition, task, scratch) -> tuple[int, float, str]:
    kind, *command = definition["healthCheck"]["command"]
    assert kind == "CMD"  # exec form: no shell in between
    started = time.monotonic()
    result = container.run(command, task.environment, user=definition["user"], timeout=120,
                           volumes=volumes(definition, scratch, task.ca_dir),
                           read_only=definition["readonlyRootFilesystem"])
    return result.returncode, time.monotonic() - started, result.stdout + result.stderr


def rootfs_listing(rootfs: Path) -> dict[str, tuple]:
    """Every path of the container's root (mount points' contents excluded), with its metadata."""
    listing = {}
    skip = {rootfs / "proc", rootfs / "dev", rootfs / "tmp", rootfs / CA_DIR.lstrip("/")}
    for directory, subdirs, files in os.walk(rootfs):
        here = Path(directory)
        subdirs[:] = [d for d in subdirs if here / d not in skip]
        for name in [*subdirs, *files]:
            st = os.lstat(here / name)
            listing[str((here / name).relative_to(rootfs))] = (st.st_mode, st.st_uid, st.st_size, st.st_mtime_ns)
    return listing


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """The task's `tmp` volume: an empty host folder, writable like the image's /tmp."""
    path = tmp_path_factory.mktemp("task-tmp")
    os.chmod(path, 0o1777)
    return path


class Running:
    def __init__(self, proc: subprocess.Popen, log: Path, port: int, before: dict, started_in: float):
        self.proc, self.log, self.port, self.before, self.started_in = proc, log, port, before, started_in
        self.url = f"http://127.0.0.1:{port}"

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def running(container, definition, task, scratch, tmp_path_factory):
    """The service started with the task's command, user, environment, read-only root and /tmp;
    ready once ECS's health check command passes (within startPeriod + retries x interval)."""
    before = rootfs_listing(container.rootfs)
    command = [*(definition.get("entryPoint") or container.config.get("Entrypoint") or []),
               *(definition.get("command") or container.config.get("Cmd") or [])]
    log = tmp_path_factory.mktemp("service") / "service.log"
    started = time.monotonic()
    proc = container.start(command, task.environment, user=definition["user"], log=log,
                           volumes=volumes(definition, scratch, task.ca_dir),
                           read_only=definition["readonlyRootFilesystem"])
    hc = definition["healthCheck"]
    deadline = started + hc["startPeriod"] + hc["retries"] * hc["interval"]
    try:
        while True:
            assert proc.poll() is None, f"the service exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
            if procs.port_open(int(task.environment["SESSION_HTTP_PORT"])):
                break
            assert time.monotonic() < deadline, f"not listening after {deadline - started:.0f}s:\n{log.read_text()}"
            time.sleep(0.2)
        yield Running(proc, log, int(task.environment["SESSION_HTTP_PORT"]), before, time.monotonic() - started)
    finally:
        procs.stop_process(proc, timeout=definition["stopTimeout"])


def test_the_task_definition_runs_the_image_as_built(definition, container):
    """What the test relies on is what the stack says (a change there must be seen here)."""
    assert definition["user"] == "10001:10001" == container.config["User"]
    assert definition["readonlyRootFilesystem"] is True
    assert [m["containerPath"] for m in definition["mountPoints"]] == ["/tmp"]
    assert definition["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
    assert definition["healthCheck"]["command"] == ["CMD", "python", "-m", "app", "healthcheck"]
    assert "command" not in definition and "entryPoint" not in definition  # the image's own
    assert container.default_command() == ["python", "-m", "app", "serve"]
    assert definition["portMappings"][0]["containerPort"] == int(container.image_env()["SESSION_HTTP_PORT"])


def test_secrets_come_from_parameter_store_by_arn(task, definition, cluster):
    assert set(task.arns) == {s["name"] for s in definition["secrets"]} | {"SESSION_STORE_PASSWORD"}
    assert all(arn.startswith("arn:aws:ssm:") and ":parameter/session-app/dev/" in arn for arn in task.arns.values())
    assert task.secrets["SESSION_STORE_PORT"] == str(cluster.endpoint[1])
    assert task.secrets["SESSION_STORE_USERNAME"] == cluster.username
    assert task.secrets["SESSION_STORE_PASSWORD"] == cluster.password
    assert task.secrets["SESSION_STORE_TLS"] == "true"
    assert task.secrets["SESSION_IDLE_TIMEOUT_SECONDS"] == "1800"  # the variable's default


def test_root_is_read_only_and_only_tmp_is_writable(container, definition, task, scratch):
    probe = (
        "import errno, os\n"
        "for path in ('/tmp/probe', '/opt/service/app/probe', '/opt/venv/probe', '/etc/probe', '/probe'):\n"
        "    try:\n"
        "        open(path, 'w').close(); os.unlink(path); print(path, 'written')\n"
        "    except OSError as e:\n"
        "        print(path, errno.errorcode[e.errno])\n"
        "print('uid', os.getuid(), os.getgid(), os.getgroups())\n"
    )
    result = container.run(["python", "-c", probe], task.environment, user=definition["user"], timeout=120,
                           volumes=volumes(definition, scratch, task.ca_dir), read_only=True)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "/tmp/probe written"
    # EROFS, not EACCES: the mount refuses even a user that owns the path.
    assert lines[1:5] == [f"{p} EROFS" for p in ("/opt/service/app/probe", "/opt/venv/probe", "/etc/probe", "/probe")]
    assert lines[5] == "uid 10001 10001 [10001]"


def test_the_image_holds_exactly_the_locked_service_packages(container, definition, task, scratch):
    """The lock's `service-packages` entries that apply to the image's Python, no others
    (no pip, no cdktf/jsii, no Node)."""
    from packaging.markers import Marker
    from packaging.utils import canonicalize_name

    script = ("import importlib.metadata as m, json, platform, shutil\n"
              "print(json.dumps({'python': platform.python_version(), 'node': shutil.which('node'),\n"
              "                  'dists': {d.metadata['Name']: d.version for d in m.distributions()}}))")
    result = container.run(["python", "-c", script], task.environment, user=definition["user"], timeout=120,
                           volumes=volumes(definition, scratch, task.ca_dir))
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    lock = json.loads((Path(__file__).resolve().parents[2] / "Pipfile.lock").read_text())["service-packages"]
    environment = {"python_full_version": seen["python"], "python_version": seen["python"].rsplit(".", 1)[0]}
    expected = {canonicalize_name(name): entry["version"].removeprefix("==") for name, entry in lock.items()
                if "markers" not in entry or Marker(entry["markers"]).evaluate(environment)}
    assert {canonicalize_name(n): v for n, v in seen["dists"].items()} == expected
    assert seen["node"] is None


def test_health_check_fails_while_nothing_listens(container, definition, task, scratch):
    status, _, _ = health_check(container, definition, task, scratch)
    assert status == 1


def test_health_check_passes(running, container, definition, task, scratch):
    status, seconds, output = health_check(container, definition, task, scratch)
    print(f"service listening {running.started_in:.1f}s after start; health check took {seconds:.1f}s")
    assert status == 0, output


def test_runs_as_the_task_user_without_capabilities(running):
    identity = process_identity(running.proc.pid)
    assert identity["Uid"] == "10001 10001 10001 10001"
    assert identity["Gid"] == "10001 10001 10001 10001"
    assert identity["Groups"] == "10001"
    assert int(identity["CapEff"], 16) == 0 and int(identity["CapPrm"], 16) == 0


def test_a_session_round_trips_through_the_container(running, cluster):
    with httpx.Client(base_url=running.url, timeout=30) as http:
        created = http.post("/api/session", json={"data": {"cart": [1, 2]}})
        assert created.status_code == 201, created.text
        sid = created.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        read = http.get("/api/session", headers={"Cookie": f"sid={sid}"})
        assert read.status_code == 200, read.text
        assert read.json()["data"] == {"cart": [1, 2]}
        assert http.get("/readyz").status_code == 200  # a round trip to the store
    # The session is in the cluster the parameters point at, with the idle timeout they say.
    from redis.cluster import RedisCluster as SyncCluster

    host, port = cluster.endpoint
    client = SyncCluster(host=host, port=port, username=cluster.username, password=cluster.password, ssl=True,
                         ssl_ca_certs=cluster.ca_file, require_full_coverage=False)
    try:
        from memorydb_sessions import tokens

        key = tokens.session_key(sid)  # the token's digest: the token itself never reaches the store
        assert json.loads(client.get(key)[16:])["d"] == {"cart": [1, 2]}
        assert 1700 < client.ttl(key) <= 1800  # SESSION_IDLE_TIMEOUT_SECONDS from Parameter Store
    finally:
        client.close()
    assert '"msg":"started"' in running.logs() and '"environment":"dev"' in running.logs()


def test_sigterm_drains_and_exits_0_within_stop_timeout(running, definition):
    with socket.create_connection(("127.0.0.1", running.port), timeout=30) as s:
        body = json.dumps({"data": {"in": "flight"}}).encode()
        s.sendall(b"POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body[:5])
        time.sleep(1)
        stopped_at = time.monotonic()
        running.proc.send_signal(signal.SIGTERM)
        time.sleep(1)
        assert running.proc.poll() is None  # still finishing the request in flight
        s.sendall(body[5:])
        s.settimeout(30)
        response = s.recv(65536)
    assert response.startswith(b"HTTP/1.1 201"), response[:300]
    # ECS sends SIGKILL after stopTimeout: the service must be gone before.
    assert running.proc.wait(definition["stopTimeout"]) == 0, running.logs()[-3000:]
    print(f"exited 0 {time.monotonic() - stopped_at:.1f}s after SIGTERM (stopTimeout {definition['stopTimeout']}s)")
    assert '"msg":"stopped"' in running.logs()


def test_nothing_was_written_outside_tmp(running, container, scratch):
    assert running.proc.poll() is not None  # after the stop above: the whole life of the service
    after = rootfs_listing(container.rootfs)
    changed = sorted(p for p in set(running.before) | set(after) if running.before.get(p) != after.get(p))
    assert changed == []
    logs = running.logs()
    assert "Read-only file system" not in logs and "Traceback" not in logs, logs[-3000:]
    print(f"written to /tmp: {sorted(str(p.relative_to(scratch)) for p in scratch.rglob('*')) or 'nothing'}")
