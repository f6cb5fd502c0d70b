"""examples/fastapi on the suite's cluster, configured from the SESSION_* environment as in
its container: /healthz without the store, visits, sign-in under a new id, wrong password,
"my sessions", log out everywhere."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.lib.conftest import ROOT
from tests.lib.flask.test_example import load_example

APP = ROOT / "examples" / "fastapi" / "app.py"


def test_healthz_without_the_store(monkeypatch):
    monkeypatch.setenv("SESSION_STORE_ENDPOINT", "127.0.0.1")
    monkeypatch.setenv("SESSION_STORE_PORT", "1")
    monkeypatch.setenv("SESSION_STORE_TLS", "false")
    with TestClient(load_example("fastapi_example_app", APP).app) as c:
        assert c.get("/healthz").status_code == 200


def test_example_app(cluster_env):
    with TestClient(load_example("fastapi_example_app", APP).app, base_url="https://testserver") as c:
        assert c.get("/").json() == {"visits": 1}
        anonymous = c.cookies.get("session")
        assert c.post("/login", json={"user": "alice", "password": "nope"}).status_code == 401
        r = c.post("/login", json={"user": "alice", "password": "wonderland"})
        assert r.json() == {"user": "alice"}
        c.cookies.clear()
        token = r.cookies.get("session")
        assert token != anonymous
        headers = {"cookie": f"session={token}"}
        assert c.get("/", headers=headers).json() == {"visits": 2}
        assert c.get("/me", headers=headers).json()["user"] == "alice"
        assert c.post("/logout-everywhere", headers=headers).json()["ended"] >= 1
        c.cookies.clear()
        assert c.get("/me", headers=headers).status_code == 401


def test_the_example_installs_exactly_the_locked_versions():
    """examples/fastapi/requirements.txt: every pin and hash as in Pipfile.lock (no drift)."""
    import json
    lock = json.loads((ROOT / "Pipfile.lock").read_text())
    locked = {**lock["develop"], **lock["default"]}
    lines = [line for line in (APP.parent / "requirements.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    for line in lines:
        requirement, *hashes = line.split(" --hash=")
        name, version = requirement.split(";")[0].strip().split("==")
        assert locked[name]["version"] == f"=={version}", name
        assert sorted(hashes) == sorted(locked[name]["hashes"]), name
    wanted = {line.split("==")[0] for line in (APP.parent / "requirements.in").read_text().splitlines()
              if line and not line.startswith("#")}
    assert wanted <= {line.split("==")[0] for line in lines}
