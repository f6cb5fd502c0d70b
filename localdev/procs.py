"""Small, dependency-free helpers to run local daemons: free ports, waiting for a
port, starting a process with a pidfile and stopping it by PID.

Everything binds 127.0.0.1 only.  Processes are always stopped by their own PID
(SIGTERM, then SIGKILL after a grace period), never by name.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterable, Mapping, Sequence

LOOPBACK = "127.0.0.1"

# Ports handed out by this process, so two calls never return the same one
# before the first caller had a chance to bind it.
_handed_out: set[int] = set()


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port that is free on *host* right now (the kernel picks it)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise RuntimeError("could not find a free port")


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """Return *count* distinct free ports."""
    return [free_port(host) for _ in range(count)]


def port_open(port: int, host: str = LOOPBACK, timeout: float = 0.2) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(
    port: int,
    host: str = LOOPBACK,
    timeout: float = 15.0,
    proc: subprocess.Popen | None = None,
) -> None:
    """Wait until host:port accepts connections.

    Raises TimeoutError after *timeout* seconds, or RuntimeError at once if
    *proc* (the process expected to listen) has exited.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port, host):
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"process {proc.pid} exited with {proc.returncode} before listening on {host}:{port}"
            )
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def start_process(
    argv: Sequence[str],
    *,
    pidfile: str | os.PathLike | None = None,
    cwd: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    stdout: str | os.PathLike | int | None = None,
    stderr: str | os.PathLike | int | None = None,
) -> subprocess.Popen:
    """Start *argv* in its own session (so signals from a terminal do not reach
    it) and write its PID to *pidfile*.  stdout/stderr may be file paths
    (appended to) or subprocess constants; default is DEVNULL."""

    def _open(target):
        if target is None:
            return subprocess.DEVNULL
        if isinstance(target, int):
            return target
        return open(target, "ab")

    out = _open(stdout)
    err = subprocess.STDOUT if stderr == subprocess.STDOUT else _open(stderr)
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    finally:
        for f in (out, err):
            if hasattr(f, "close"):
                f.close()
    if pidfile is not None:
        Path(pidfile).write_text(f"{proc.pid}\n")
    return proc


def pid_alive(pid: int) -> bool:
    """True when *pid* exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); look at its state when /proc exists.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop_pid(pid: int, timeout: float = 10.0, sig: int = signal.SIGTERM) -> bool:
    """Send *sig* (SIGTERM) to *pid*, wait up to *timeout* seconds, then SIGKILL.

    Returns True if the process was running.  Only this PID is signalled.
    """
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        _reap(pid)
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not pid_alive(pid):
            return True
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        _reap(pid)
        if not pid_alive(pid):
            break
        time.sleep(0.02)
    return True


def read_pidfile(pidfile: str | os.PathLike) -> int | None:
    try:
        return int(Path(pidfile).read_text().strip())
    except (OSError, ValueError):
        return None


def stop_pidfile(pidfile: str | os.PathLike, timeout: float = 10.0) -> bool:
    """Stop the process whose PID is in *pidfile*, then remove the file."""
    pid = read_pidfile(pidfile)
    stopped = False
    if pid is not None:
        stopped = stop_pid(pid, timeout)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(pidfile)
    return stopped


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop a Popen started by us (SIGTERM, then SIGKILL) and reap it."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(5)


def stop_all(procs: Iterable[subprocess.Popen], timeout: float = 10.0) -> None:
    """Stop several processes: SIGTERM to all first, then wait for each."""
    procs = [p for p in procs if p.poll() is None]
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                p.kill()
            p.wait(5)


@contextlib.contextmanager
def heartbeat(what: str, say, every: float = 10.0):
    """While the block runs, say every *every* seconds that it still waits for *what*, with the
    elapsed time, so a long wait never looks like a hang."""
    started = time.monotonic()
    done = threading.Event()

    def beat() -> None:
        while not done.wait(every):
            say(f"  ...     {what}: still waiting, {time.monotonic() - started:.0f}s so far")

    pulse = threading.Thread(target=beat, name="heartbeat", daemon=True)
    pulse.start()
    try:
        yield
    finally:
        done.set()
        pulse.join()


__all__ = [
    "heartbeat",
    "LOOPBACK",
    "free_port",
    "free_ports",
    "port_open",
    "wait_for_port",
    "start_process",
    "pid_alive",
    "stop_pid",
    "read_pidfile",
    "stop_pidfile",
    "stop_process",
    "stop_all",
]
