"""Start the emulator as its own process (tests, make demo) and stop it by PID."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class EmulatorHandle:
    """A running emulator process; `url` is what AWS_ENDPOINT_URL should be."""

    host: str
    port: int
    pid: int
    process: subprocess.Popen[bytes] = field(repr=False)
    log_file: IO[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment for AWS SDKs/Terraform pointed at this emulator."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            # moto answers unimplemented actions with 500, which SDKs retry for long.
            "AWS_MAX_ATTEMPTS": "2",
        }

    def s3_backend_args(self) -> list[str]:
        """`terraform init` flags that point an S3 backend (bucket/key/region/use_lockfile
        already in the synthesized JSON) at this emulator; moto needs path-style URLs."""
        return [
            "-backend-config=use_path_style=true",
            f'-backend-config=endpoints={{s3="{self.url}"}}',
        ]

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM by PID, then SIGKILL if it does not exit in time."""
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.process.wait(timeout=timeout)
        if self.log_file is not None:
            self.log_file.close()

    def __enter__(self) -> "EmulatorHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"emulator exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    raise TimeoutError(f"emulator at {url} not ready after {timeout} s")


def start_emulator(
    port: int | None = None,
    host: str = "127.0.0.1",
    log_path: Path | None = None,
    # moto imports every service model on start: seconds alone, more than 30 s when CI's
    # suites share two cores with cold caches.
    timeout: float = 120.0,
    trace_path: Path | None = None,
    detach: bool = False,
) -> EmulatorHandle:
    """Start `python -m emulator serve` and return once it answers HTTP.

    trace_path: if set, every non-2xx answer is logged there with its AWS action.
    detach: run in its own session, so it outlives the caller and a Ctrl-C in the
    caller's terminal (make demo leaves it running; stop it later by PID).
    """
    chosen = port if port is not None else free_port(host)
    log_file = open(log_path, "ab") if log_path is not None else None
    env = dict(os.environ)
    if trace_path is not None:
        env["EMULATOR_TRACE"] = str(trace_path)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "serve", "--host", host, "--port", str(chosen)],
        cwd=REPO_ROOT,
        env=env,
        stdout=log_file if log_file is not None else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log_file is not None else subprocess.DEVNULL,
        start_new_session=detach,
    )
    handle = EmulatorHandle(host=host, port=chosen, pid=process.pid, process=process, log_file=log_file)
    try:
        _wait_ready(handle.url, process, timeout)
    except BaseException:
        handle.stop()
        raise
    return handle
