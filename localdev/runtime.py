"""The runtime on loopback: a Redis Cluster for MemoryDB, N session service instances, and
HAProxy for the ALB. Every process writes a PID file under the runtime's directory, so
`stop_runtime` (and `make down`) can stop all of it from another process.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from localdev import procs
from localdev.haproxy import HAPROXY, Backend, admin_command, render_config
from localdev.redis_cluster import RedisCluster

ROOT = Path(__file__).resolve().parent.parent
STATE_FILE = "runtime.json"


@dataclass
class Instance:
    name: str
    port: int
    pidfile: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class RuntimeState:
    directory: str
    load_balancer_url: str
    admin_socket: str
    instances: list[Instance] = field(default_factory=list)
    store_endpoint: str = ""

    def save(self) -> None:
        Path(self.directory, STATE_FILE).write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, directory: Path) -> "RuntimeState":
        data = json.loads((directory / STATE_FILE).read_text())
        data["instances"] = [Instance(**i) for i in data["instances"]]
        return cls(**data)


def service_environment(cluster: RedisCluster, instance: Instance, idle_timeout: int) -> dict[str, str]:
    """The same variable names the ECS task definition injects, pointed at the local cluster."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("SESSION_")},
        **cluster.client_env(),
        "SESSION_STORE_DB": "0",
        "SESSION_IDLE_TIMEOUT_SECONDS": str(idle_timeout),
        "SESSION_ABSOLUTE_LIFETIME_SECONDS": str(max(idle_timeout, 43200)),
        "SESSION_ENVIRONMENT": "local",
        "SESSION_HTTP_HOST": "127.0.0.1",
        "SESSION_HTTP_PORT": str(instance.port),
        "SESSION_INSTANCE_NAME": instance.name,
        "SESSION_SERVED_BY_HEADER": "true",
        "SESSION_WORKERS": "1",
        # Every local client (the drills' load, the check) comes from 127.0.0.1: one address
        # stands for many clients here, so its creation limit is that of many.
        "SESSION_CREATE_RATE_PER_MINUTE": "60000",
        "PYTHONPATH": str(ROOT),
    }


def start_instance(cluster: RedisCluster, instance: Instance, directory: Path, idle_timeout: int) -> None:
    process = procs.start_process([sys.executable, "-m", "app", "serve"], pidfile=instance.pidfile, cwd=ROOT,
                                  env=service_environment(cluster, instance, idle_timeout),
                                  stdout=directory / f"{instance.name}.log", stderr=directory / f"{instance.name}.log")
    procs.wait_for_port(instance.port, timeout=30, proc=process)


def start_runtime(directory: Path, *, lb_port: int = 8080, instances: int = 3,
                  idle_timeout: int = 1800) -> tuple[RuntimeState, RedisCluster]:
    """Start everything; on any failure, stop what was started and raise."""
    directory.mkdir(parents=True, exist_ok=True)
    if procs.port_open(lb_port):
        raise RuntimeError(f"127.0.0.1:{lb_port} is already in use: run `make down`, or pick another port")
    cluster = RedisCluster(directory / "redis").start()
    state = RuntimeState(directory=str(directory), load_balancer_url=f"http://127.0.0.1:{lb_port}",
                         admin_socket=str(directory / "haproxy.sock"),
                         store_endpoint="%s:%d" % cluster.endpoint)
    try:
        for index, port in enumerate(procs.free_ports(instances), start=1):
            instance = Instance(name=f"app-{index}", port=port, pidfile=str(directory / f"app-{index}.pid"))
            start_instance(cluster, instance, directory, idle_timeout)
            state.instances.append(instance)
        state.save()
        add_demo_users(cluster)
        start_load_balancer(state, lb_port)
        wait_until_all_healthy(state)
    except BaseException:
        stop_runtime(directory)
        raise
    return state, cluster


# The reference application's accounts in the demo (printed by `make demo`; local only).
DEMO_USERS = {"alice": "alice-demo-password", "bob": "bob-demo-password"}


def add_demo_users(cluster: RedisCluster) -> None:
    """Put the demo accounts in the store's user directory, as `python -m app users add` does."""
    import orjson
    from redis.cluster import RedisCluster as SyncCluster

    from app.users import directory_key, hash_password

    host, port = cluster.endpoint
    client = SyncCluster(host=host, port=port, username=cluster.username, password=cluster.password, ssl=True,
                         ssl_ca_certs=cluster.ca_file)
    try:
        for name, password in DEMO_USERS.items():
            client.set(directory_key(name), orjson.dumps(hash_password(password)))
    finally:
        client.close()


def start_load_balancer(state: RuntimeState, lb_port: int) -> None:
    directory = Path(state.directory)
    config = directory / "haproxy.cfg"
    config.write_text(render_config(listen_port=lb_port, admin_socket=Path(state.admin_socket),
                                    pidfile=directory / "haproxy.pid",
                                    backends=[Backend(i.name, i.port) for i in state.instances]))
    process = procs.start_process([HAPROXY, "-f", str(config), "-db"], pidfile=directory / "haproxy.pid",
                                  stdout=directory / "haproxy.log", stderr=directory / "haproxy.log")
    procs.wait_for_port(lb_port, timeout=15, proc=process)


def wait_until_all_healthy(state: RuntimeState, timeout: float = 30) -> None:
    """Every instance is UP in HAProxy (its health checks passed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = admin_command(Path(state.admin_socket), "show servers state session_service")
        rows = [line.split() for line in status.splitlines() if line[:1].isdigit() and len(line.split()) > 5]
        if len(rows) == len(state.instances) and all(row[5] == "2" for row in rows):  # 2 = running
            return
        time.sleep(0.2)
    raise TimeoutError("HAProxy did not see every session service instance healthy in time")


def stop_runtime(directory: Path, timeout: float = 10.0) -> list[str]:
    """Stop every process that left a PID file under `directory`; returns what was stopped."""
    stopped = []
    for pidfile in sorted(directory.rglob("*.pid")):
        pid = procs.read_pidfile(pidfile)
        if pid is not None and procs.pid_alive(pid):
            procs.stop_pidfile(pidfile, timeout)
            stopped.append(pidfile.stem)
        pidfile.unlink(missing_ok=True)
    return stopped
