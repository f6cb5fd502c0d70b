"""examples/flask on the suite's cluster, configured from the SESSION_* environment as in its
container: /healthz without the store, visits, sign-in under a new id, wrong password,
"my sessions", log out everywhere."""

from __future__ import annotations

import importlib.util

from tests.cluster_fixture import SHARED_CORE_TIMEOUTS
from tests.lib.conftest import ROOT


def load_example(name: str, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_app(cluster, monkeypatch):
    monkeypatch.setenv("SESSION_STORE_ENDPOINT", "127.0.0.1")
    monkeypatch.setenv("SESSION_STORE_PORT", "1")  # nothing there: /healthz must not care
    example = load_example("flask_example_app", ROOT / "examples" / "flask" / "app.py")
    c = example.app.test_client()
    assert c.get("/healthz").status_code == 200
    for k, v in {**cluster.client_env(), **SHARED_CORE_TIMEOUTS}.items():
        monkeypatch.setenv(k, v)
    example = load_example("flask_example_app", ROOT / "examples" / "flask" / "app.py")
    c = example.app.test_client()
    first = c.get("/")
    assert first.json == {"visits": 1} and "httponly" in first.headers["Set-Cookie"].lower()
    assert c.get("/").json == {"visits": 2}
    anonymous = c.get_cookie("session").value
    assert c.post("/login", data={"user": "alice", "password": "nope"}).status_code == 401
    assert c.post("/login", data={"user": "alice", "password": "wonderland"}).json == {"user": "alice"}
    assert c.get_cookie("session").value != anonymous
    assert c.get("/").json == {"visits": 3}  # the data came along
    other = example.app.test_client()
    other.post("/login", data={"user": "alice", "password": "wonderland"})
    me = c.get("/me").json
    assert me["user"] == "alice" and len(me["sessions"]) >= 2
    assert c.post("/logout-everywhere").json["ended"] >= 2
    assert other.get("/me").status_code == 401
    example.app.session_interface.store.close()
