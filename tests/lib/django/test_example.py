"""examples/django run as its container runs it (gunicorn, SESSION_* environment) against
the suite's cluster: health check without the store, sign-in, password change ending the
other device's session, log out everywhere."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path

import pytest

from localdev import procs
from tests.cluster_fixture import SHARED_CORE_TIMEOUTS

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "django"


@pytest.fixture()
def example(cluster, tmp_path):
    port = procs.free_port()
    env = {**os.environ, **cluster.client_env(), **SHARED_CORE_TIMEOUTS, "DJANGO_INSECURE_COOKIES": "1",
           "PYTHONPATH": str(EXAMPLE.parents[1])}  # the checkout's memorydb_sessions
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                             "--threads", "4", "--worker-class", "gthread", "example.wsgi"],
                            cwd=EXAMPLE, env=env, stdout=open(tmp_path / "out.log", "wb"), stderr=subprocess.STDOUT)
    try:
        procs.wait_for_port(port, timeout=90, proc=proc)
        _wait_for_worker(port, proc)
        yield port
    finally:
        procs.stop_pid(proc.pid)


def _wait_for_worker(port: int, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    """gunicorn's master listens before its worker has imported Django: on loaded cores the first
    request can wait many seconds, so the fixture waits for the worker's own answer."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"examples/django did not answer /healthz within {timeout:.0f} s")
        time.sleep(0.2)


class Browser:
    def __init__(self, port: int) -> None:
        self.port, self.cookies = port, SimpleCookie()

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": "; ".join(f"{k}={m.value}" for k, m in self.cookies.items())}
        body = None
        if form is not None:
            from urllib.parse import urlencode

            body, headers["Content-Type"] = urlencode(form), "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        for value in r.headers.get_all("Set-Cookie") or []:
            self.cookies.load(value)
        text = r.read().decode()
        conn.close()
        return r.status, text

    def post(self, path: str, **form) -> int:
        _, page = self.request("GET", "/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        return self.request("POST", path, {"csrfmiddlewaretoken": token, **form})[0]


def test_example_signs_in_and_revokes(example):
    laptop, phone = Browser(example), Browser(example)
    assert laptop.request("GET", "/healthz") == (200, "ok\n")
    assert laptop.post("/login", username="alice", password="wrong") == 401
    for b in (laptop, phone):
        assert b.post("/login", username="alice", password="correct horse") == 302
        assert "Signed in as alice" in b.request("GET", "/")[1]
    assert laptop.post("/password", password="new one") == 302
    assert "Not signed in" in phone.request("GET", "/")[1]  # the other device was ended
    assert "Signed in as alice" in laptop.request("GET", "/")[1]
    assert phone.post("/login", username="alice", password="new one") == 302
    assert laptop.post("/logout-everywhere") == 302
    assert "Not signed in" in phone.request("GET", "/")[1]
    assert "Not signed in" in laptop.request("GET", "/")[1]
