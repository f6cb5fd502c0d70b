"""The application plane end to end: callers signed with credentials from the emulator's
AssumeRole, verified by the emulator's STS (which checks SigV4 signatures once
``INITIAL_NO_AUTH_ACTION_COUNT`` unauthenticated set-up calls are spent), routes on a real
SessionStore over the real Redis Cluster, and the wiring of both listeners in one process."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import time

import boto3
import botocore.credentials
import httpx
import pytest

from app.app_plane import AppPlane
from app.config import Settings
from app.http import App
from app.server import plane_servers, serve_planes
from emulator import start_emulator
from localdev import procs
from memorydb_sessions import SessionPolicy, SessionStore, StoreClient, StoreConfig, StoreUnavailable
from memorydb_sessions.caller_auth import caller_identity_header

ACCOUNT = "123456789012"
SERVER_ID = "session-test"
TRUSTED = f"arn:aws:iam::{ACCOUNT}:role/app-backend"
# create_role x2 and assume_role x2 run unauthenticated; every later call is signature-checked.
SETUP_CALLS = 4


@pytest.fixture(scope="module")
def sts(tmp_path_factory):
    previous = os.environ.get("INITIAL_NO_AUTH_ACTION_COUNT")
    os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = str(SETUP_CALLS)
    try:
        handle = start_emulator(log_path=tmp_path_factory.mktemp("sts") / "emulator.log")
    finally:
        if previous is None:
            os.environ.pop("INITIAL_NO_AUTH_ACTION_COUNT")
        else:
            os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = previous
    try:
        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        iam = session.client("iam", endpoint_url=handle.url)
        client = session.client("sts", endpoint_url=handle.url)
        creds = {}
        for role in ("app-backend", "someone-else"):
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
        for role in ("app-backend", "someone-else"):
            c = client.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName="test")["Credentials"]
            creds[role] = botocore.credentials.Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
        yield handle, creds
    finally:
        handle.stop()


@pytest.fixture
def store(cluster):
    env = cluster.client_env()
    config = StoreConfig(host=env["SESSION_STORE_ENDPOINT"], port=int(env["SESSION_STORE_PORT"]),
                         username=env["SESSION_STORE_USERNAME"], password=env["SESSION_STORE_PASSWORD"],
                         tls=env["SESSION_STORE_TLS"] == "true", ca_file=env.get("SESSION_STORE_CA_FILE"),
                         connect_timeout=5.0)  # CI's shared cores make TLS handshakes slow
    return lambda policy=SessionPolicy(store_timeout=5.0): SessionStore(StoreClient(config), policy)


def settings_for(url: str, **kw) -> Settings:
    return Settings(store_endpoint="unused", sts_endpoint=url, trusted_caller_arns=(TRUSTED,),
                    app_plane_server_id=SERVER_ID, **kw)


def run(app, calls):
    """Run ``calls(client)`` against the ASGI *app* in-process; its result."""
    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://plane") as client:
            return await calls(client)
    return asyncio.run(go())


def auth(sts, role="app-backend", server_id=SERVER_ID) -> dict:
    handle, creds = sts
    return {"Authorization": caller_identity_header(creds[role], "us-east-1", server_id, handle.url)}


def plane(sts, store_factory, policy=SessionPolicy(store_timeout=5.0)):
    holder = {}

    def provider():
        if "store" not in holder:
            holder["store"] = store_factory(policy)
        return holder["store"]
    return AppPlane(settings_for(sts[0].url), provider), holder


# ---------------------------------------------------------------- who may call
def test_no_header_is_401(sts, store):
    app, _ = plane(sts, store)

    async def calls(c):
        return await c.post("/v1/user/revoke", json={"user_id": "alice"})
    r = run(app, calls)
    assert r.status_code == 401 and "STS-Identity" in r.json()["error"]
    assert app.verifier.sts_calls == 0


def test_signed_for_another_server_is_401(sts, store):
    app, _ = plane(sts, store)

    async def calls(c):
        return await c.post("/v1/user/revoke", json={"user_id": "alice"}, headers=auth(sts, server_id="other-service"))
    r = run(app, calls)
    assert r.status_code == 401 and "X-Session-Server-Id" in r.json()["error"]
    assert app.verifier.sts_calls == 0


def test_a_role_off_the_allow_list_is_403(sts, store):
    app, _ = plane(sts, store)

    async def calls(c):
        return await c.post("/v1/user/revoke", json={"user_id": "alice"}, headers=auth(sts, role="someone-else"))
    r = run(app, calls)
    assert r.status_code == 403 and f"arn:aws:iam::{ACCOUNT}:role/someone-else" in r.json()["error"]


def test_a_tampered_signature_is_refused_by_sts(sts, store):
    app, _ = plane(sts, store)
    header = auth(sts)["Authorization"]
    signed = json.loads(base64.b64decode(header.split(" ", 1)[1]))
    sig = signed["headers"]["Authorization"]
    signed["headers"]["Authorization"] = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    tampered = {"Authorization": "STS-Identity " + base64.b64encode(json.dumps(signed).encode()).decode()}

    async def calls(c):
        return await c.post("/v1/user/revoke", json={"user_id": "alice"}, headers=tampered)
    r = run(app, calls)
    assert r.status_code == 401 and r.json()["error"] == "STS refused the signed request: SignatureDoesNotMatch"
    assert app.verifier.sts_calls == 1


# --------------------------------------------------------------- what it may do
def test_the_allowed_role_runs_a_session_life_cycle(sts, store):
    app, holder = plane(sts, store)
    headers = auth(sts)
    user = f"plane-{time.time_ns()}"

    async def calls(c):
        out = {}
        r = await c.post("/v1/sign-in", headers=headers, json={
            "user_id": user, "methods": ["password", "totp"], "attributes": {"roles": ["admin"]},
            "data": {"cart": 1}, "client_ip": "203.0.113.9", "user_agent": "curl"})
        assert r.status_code == 201, r.text
        first = r.json()
        assert first["user_id"] == user and first["attributes"] == {"roles": ["admin"]}
        assert first["auth_methods"] == ["password", "totp"] and first["data"] == {"cart": 1}
        # A sign-in that replaces a session: a new token, the old one ends.
        r = await c.post("/v1/sign-in", headers=headers, json={"user_id": user, "replaces": first["token"]})
        second = r.json()
        assert r.status_code == 201 and second["token"] != first["token"]
        assert (await c.post("/v1/session", headers=headers, json={"token": first["token"]})).status_code == 404
        third = (await c.post("/v1/sign-in", headers=headers, json={"user_id": user})).json()

        r = await c.post("/v1/session/attributes", headers=headers,
                         json={"token": second["token"], "attributes": {"roles": ["viewer"]}})
        assert r.status_code == 200 and r.json()["attributes"] == {"roles": ["viewer"]}
        r = await c.post("/v1/session/reauthenticate", headers=headers, json={"token": second["token"], "methods": ["webauthn"]})
        assert r.status_code == 200 and r.json()["auth_methods"] == ["password", "webauthn"]
        view = (await c.post("/v1/session", headers=headers, json={"token": second["token"]})).json()
        assert view["attributes"] == {"roles": ["viewer"]} and "token" not in view

        listed = (await c.post("/v1/user/sessions", headers=headers, json={"user_id": user, "current": second["token"]})).json()
        assert sorted(s["handle"] for s in listed["sessions"]) == sorted([second["handle"], third["handle"]])
        assert [s["current"] for s in listed["sessions"] if s["handle"] == second["handle"]] == [True]
        assert "token" not in json.dumps(listed)

        r = await c.post("/v1/user/sessions/end", headers=headers, json={"user_id": user, "handle": third["handle"]})
        assert r.status_code == 200
        r = await c.post("/v1/user/sessions/end", headers=headers, json={"user_id": user, "handle": third["handle"]})
        assert r.status_code == 404
        fourth = (await c.post("/v1/sign-in", headers=headers, json={"user_id": user})).json()
        r = await c.post("/v1/user/sessions/end-others", headers=headers, json={"user_id": user, "keep": second["token"]})
        assert r.json() == {"ended": 1}
        assert (await c.post("/v1/session", headers=headers, json={"token": fourth["token"]})).status_code == 404
        r = await c.post("/v1/user/revoke", headers=headers, json={"user_id": user})
        assert r.json() == {"revoked": 1}
        # A sign-in proven before the revocation is refused.
        r = await c.post("/v1/sign-in", headers=headers, json={"user_id": user, "authenticated_at": time.time() - 30})
        out["revoked"] = r
        await holder["store"].client.aclose()
        return out
    out = run(app, calls)
    assert out["revoked"].status_code == 409 and out["revoked"].json()["code"] == "sign-in-revoked"
    # One STS call for the whole life cycle: the verification is cached.
    assert app.verifier.sts_calls == 1


def test_bad_input_names_the_field(sts, store):
    app, holder = plane(sts, store)
    headers = auth(sts)

    async def calls(c):
        cases = [
            ("/v1/sign-in", {"user_id": "a b"}, "user_id"),
            ("/v1/sign-in", {"user_id": "u", "methods": "password"}, "methods"),
            ("/v1/sign-in", {"user_id": "u", "attributes": [1]}, "attributes"),
            ("/v1/sign-in", {"user_id": "u", "authenticated_at": time.time() + 3600}, "authenticated_at"),
            ("/v1/session", {}, "token"),
            ("/v1/session/attributes", {"token": "x"}, "attributes"),
            ("/v1/user/sessions/end", {"user_id": "u"}, "handle"),
        ]
        out = [(await c.post(path, headers=headers, json=body), field) for path, body, field in cases]
        out.append((await c.post("/v1/session", headers=headers, content=b"{nope"), "JSON"))
        if "store" in holder:
            await holder["store"].client.aclose()
        return out
    for r, field in run(app, calls):
        assert r.status_code in (400, 422) and field in r.json()["error"], (field, r.text)


def test_a_user_at_the_cap_is_409_when_the_policy_refuses(sts, store):
    app, holder = plane(sts, store, SessionPolicy(max_sessions_per_user=1, limit_action="refuse", store_timeout=5.0))
    headers = auth(sts)
    user = f"cap-{time.time_ns()}"

    async def calls(c):
        first = await c.post("/v1/sign-in", headers=headers, json={"user_id": user})
        second = await c.post("/v1/sign-in", headers=headers, json={"user_id": user})
        await holder["store"].client.aclose()
        return first, second
    first, second = run(app, calls)
    assert first.status_code == 201 and second.status_code == 409 and second.json()["code"] == "session-limit"


def test_a_store_outage_is_503_with_retry_after(sts):
    class Down:
        async def revoke_user(self, user_id):
            raise StoreUnavailable("deadline exceeded")

    app = AppPlane(settings_for(sts[0].url), lambda: Down())

    async def calls(c):
        return await c.post("/v1/user/revoke", headers=auth(sts), json={"user_id": "alice"})
    r = run(app, calls)
    assert r.status_code == 503 and r.headers["retry-after"] and "unavailable" in r.json()["error"]


# --------------------------------------------------------------------- wiring
def test_both_listeners_share_one_store_and_the_public_port_serves_no_plane_route(cluster, sts):
    settings = Settings.from_env({**cluster.client_env(), "SESSION_HTTP_HOST": "127.0.0.1",
                                  "SESSION_HTTP_PORT": str(procs.free_port()),
                                  "SESSION_APP_PLANE_PORT": str(procs.free_port()),
                                  "SESSION_STS_ENDPOINT": sts[0].url, "SESSION_TRUSTED_CALLER_ARNS": TRUSTED,
                                  "SESSION_APP_PLANE_SERVER_ID": SERVER_ID}, use_parameter_store=False)
    public = App(settings, log_requests=False, handle_signals=False)
    main, side = plane_servers(settings, public)
    provider = side.config.app.store_provider

    async def go():
        task = asyncio.create_task(serve_planes(main, side))
        while not (main.started and side.started):
            assert not task.done()
            await asyncio.sleep(0.01)
        # The App opened its SessionStore at startup: the plane serves from that very one.
        assert isinstance(public.store, SessionStore) and provider() is public.store
        async with httpx.AsyncClient() as c:
            public_url = f"http://127.0.0.1:{settings.http_port}"
            plane_url = f"http://127.0.0.1:{settings.app_plane_port}"
            answers = {}
            for path in side.config.app._routes:
                answers[path] = (await c.post(public_url + path, json={"user_id": "alice"}, headers=auth(sts))).status_code
            unsigned = await c.post(plane_url + "/v1/user/revoke", json={"user_id": "alice"})
        main.handle_exit(signal.SIGTERM, None)  # what SIGTERM does: both servers stop
        await task
        return answers, unsigned
    answers, unsigned = asyncio.run(go())
    assert set(answers.values()) <= {404, 405}, answers
    assert unsigned.status_code == 401
    assert side.should_exit


@pytest.mark.parametrize("change, message", [
    ({"SESSION_TRUSTED_CALLER_ARNS": ""}, "SESSION_TRUSTED_CALLER_ARNS is required"),
    ({"SESSION_APP_PLANE_PORT": "8080"}, "must differ from SESSION_HTTP_PORT"),
    ({"SESSION_WORKERS": "2"}, "needs SESSION_WORKERS=1"),
    ({"SESSION_STS_ENDPOINT": ""}, "SESSION_STS_ENDPOINT or AWS_REGION is required"),
])
def test_a_plane_that_cannot_work_refuses_to_start_with_a_message(change, message):
    from app.server import serve

    env = {"SESSION_STORE_ENDPOINT": "127.0.0.1", "SESSION_STORE_TLS": "false", "SESSION_HTTP_PORT": "8080",
           "SESSION_APP_PLANE_PORT": "8443", "SESSION_STS_ENDPOINT": "https://sts.eu-west-1.amazonaws.com",
           "SESSION_TRUSTED_CALLER_ARNS": TRUSTED, **change}
    with pytest.raises(SystemExit) as info:
        serve(Settings.from_env(env, use_parameter_store=False))
    assert str(info.value).startswith("configuration error: ") and message in str(info.value)


def test_python_m_app_serve_runs_both_listeners_and_stops_cleanly_on_sigterm(cluster, sts, tmp_path):
    import subprocess
    import sys

    from tests.app.conftest import ROOT

    public_port, plane_port = procs.free_ports(2)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
           "PYTHONPATH": str(ROOT), **cluster.client_env(), "SESSION_HTTP_HOST": "127.0.0.1",
           "SESSION_HTTP_PORT": str(public_port), "SESSION_APP_PLANE_PORT": str(plane_port),
           "SESSION_STS_ENDPOINT": sts[0].url, "SESSION_TRUSTED_CALLER_ARNS": TRUSTED,
           "SESSION_APP_PLANE_SERVER_ID": SERVER_ID}
    log = tmp_path / "service.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "app", "serve"], cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        procs.wait_for_port(public_port, timeout=30, proc=proc)
        procs.wait_for_port(plane_port, timeout=30, proc=proc)
        with httpx.Client() as c:
            public = c.post(f"http://127.0.0.1:{public_port}/v1/user/revoke", json={"user_id": "alice"}, headers=auth(sts))
            refused = c.post(f"http://127.0.0.1:{plane_port}/v1/user/revoke", json={"user_id": "alice"},
                             headers=auth(sts, role="someone-else"))
            # A backend's sign-in is a session the browser API serves: one store for both.
            signed_in = c.post(f"http://127.0.0.1:{plane_port}/v1/sign-in", headers=auth(sts),
                               json={"user_id": f"served-{time.time_ns()}", "data": {"theme": "dark"}})
            token = signed_in.json()["token"]
            browser = c.get(f"http://127.0.0.1:{public_port}/api/session", headers={"Cookie": f"sid={token}"})
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()
    finally:
        procs.stop_process(proc)
    assert public.status_code == 404
    assert refused.status_code == 403
    assert signed_in.status_code == 201 and browser.status_code == 200, browser.text
    assert browser.json()["data"] == {"theme": "dark"}
    assert "Traceback" not in log.read_text()
