"""Fixtures for the failure drills: ONE loopback runtime per module (a TLS Redis Cluster with
AOF, three session service instances, HAProxy), on free 127.0.0.1 ports, stopped by PID at
teardown even when a drill fails. Each drill leaves the runtime healthy for the next one."""

from __future__ import annotations

import json
import os
import platform
import signal
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from localdev import procs  # noqa: E402
from localdev.haproxy import admin_command, set_server_state  # noqa: E402
from localdev.runtime import Instance, RuntimeState, start_instance, start_runtime, stop_runtime, wait_until_all_healthy  # noqa: E402

DRILLS_DIR = ROOT / ".build" / "drills"
IDLE_TIMEOUT = 1800


class Runtime:
    def __init__(self, state: RuntimeState, cluster) -> None:
        self.state = state
        self.cluster = cluster
        self.directory = Path(state.directory)
        self.admin_socket = Path(state.admin_socket)
        self.url = state.load_balancer_url

    def instance(self, name: str) -> Instance:
        return next(i for i in self.state.instances if i.name == name)

    def pid(self, instance: Instance) -> int:
        pid = procs.read_pidfile(instance.pidfile)
        assert pid is not None and procs.pid_alive(pid), f"{instance.name} is not running"
        return pid

    def signal_and_wait(self, instance: Instance, sig: int, timeout: float = 30.0) -> tuple[float, int | None]:
        """Send `sig` to the instance and wait for it to exit. Returns (seconds it took, exit
        status or None when it was not our child). SIGKILLs it if it outlives `timeout`."""
        pid = self.pid(instance)
        started = time.monotonic()
        os.kill(pid, sig)
        status = None
        while time.monotonic() - started < timeout:
            try:
                done, raw = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = os.waitstatus_to_exitcode(raw)
                    break
            except ChildProcessError:
                if not procs.pid_alive(pid):
                    break
            time.sleep(0.02)
        else:
            procs.stop_pid(pid, timeout=0, sig=signal.SIGKILL)
        took = time.monotonic() - started
        Path(instance.pidfile).unlink(missing_ok=True)
        return took, status

    def restart(self, instance: Instance) -> None:
        """Start a stopped instance again and put it back in rotation (ECS's replacement task)."""
        start_instance(self.cluster, instance, self.directory, IDLE_TIMEOUT)
        set_server_state(self.admin_socket, instance.name, "ready")
        wait_until_all_healthy(self.state, timeout=60)

    def backend_counters(self) -> dict[str, int]:
        """HAProxy's counters for the backend: `wretr` (retried connections), `wredis`
        (redispatches to another instance), `econ`/`eresp` (connection/response errors)."""
        lines = admin_command(self.admin_socket, "show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            row = dict(zip(header, line.split(",")))
            if row.get("pxname") == "session_service" and row.get("svname") == "BACKEND":
                return {k: int(row.get(k) or 0) for k in ("wretr", "wredis", "econ", "eresp")}
        raise RuntimeError("no session_service backend in HAProxy's stats")

    def log(self, instance: Instance) -> str:
        return (self.directory / f"{instance.name}.log").read_text(errors="replace")

    def server_errors(self, limit: int = 5) -> str:
        """The services' own account of any 500: unhandled-exception lines and uvicorn's
        tracebacks, so a failed assertion says why, not only that."""
        found = []
        for instance in self.state.instances:
            lines = self.log(instance).splitlines()
            for index, line in enumerate(lines):
                if "unhandled exception" in line or "Exception in ASGI application" in line:
                    found.append(f"{instance.name}: " + "\n".join(lines[index:index + 25]))
        return "\n---\n".join(found[:limit]) or "(no unhandled exception in the service logs: the 500 came from elsewhere)"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    directory = tmp_path_factory.mktemp("drills-runtime")
    state, cluster = start_runtime(directory, lb_port=procs.free_port())
    try:
        yield Runtime(state, cluster)
    finally:
        stop_runtime(directory)
        cluster.stop()


@pytest.fixture(scope="session")
def report():
    """report(name, numbers): print the drill's numbers and write .build/drills/<name>.json."""
    DRILLS_DIR.mkdir(parents=True, exist_ok=True)

    def write(name: str, numbers: dict) -> dict:
        document = {
            "drill": name,
            "command": ".venv/bin/pytest tests/demo/test_drills.py -s",
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": {"cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
                        "python": platform.python_version()},
            **numbers,
        }
        (DRILLS_DIR / f"{name}.json").write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
        print(f"\n[drill {name}] " + json.dumps(numbers, sort_keys=False))
        return document

    return write
