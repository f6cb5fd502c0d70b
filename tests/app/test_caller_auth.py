"""The application plane's caller checks that run before anything leaves the process
(no STS needed), the ARN normalization, and the verification cache. A recording
listener stands in for STS, to prove what is (not) forwarded."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading

import botocore.credentials
import pytest

from app.caller_auth import Caller, CallerRejected, CallerVerifier, role_arn
from memorydb_sessions.caller_auth import caller_identity_header

CREDS = botocore.credentials.Credentials("AKIDEXAMPLE", "secret", None)
ALLOWED = ("arn:aws:iam::123456789012:role/app",)


class Recorder:
    """A TCP listener that counts the connections it accepts and closes them at once."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def recorder():
    r = Recorder()
    yield r
    r.close()


def verify(verifier: CallerVerifier, header: str | None) -> Caller:
    return asyncio.run(verifier.verify(header))


def rejected(verifier: CallerVerifier, header: str | None) -> CallerRejected:
    with pytest.raises(CallerRejected) as info:
        verify(verifier, header)
    return info.value


def edit(header: str, change) -> str:
    signed = json.loads(base64.b64decode(header.split(" ", 1)[1]))
    change(signed)
    return "STS-Identity " + base64.b64encode(json.dumps(signed).encode()).decode()


# ------------------------------------------------------------------ ARN normalization
@pytest.mark.parametrize("arn, role", [
    ("arn:aws:sts::123456789012:assumed-role/app/i-0abc", "arn:aws:iam::123456789012:role/app"),
    ("arn:aws:sts::123456789012:assumed-role/app/botocore-session-1700000000", "arn:aws:iam::123456789012:role/app"),
    ("arn:aws-cn:sts::123456789012:assumed-role/app/s", "arn:aws-cn:iam::123456789012:role/app"),
    ("arn:aws:iam::123456789012:role/app", "arn:aws:iam::123456789012:role/app"),
    # STS answers without the role's path: an allow-list entry with one compares by name.
    ("arn:aws:iam::123456789012:role/team/app", "arn:aws:iam::123456789012:role/app"),
    ("arn:aws:iam::123456789012:user/alice", None),
    ("arn:aws:iam::123456789012:root", None),
    ("arn:aws:sts::123456789012:federated-user/bob", None),
    ("arn:aws:sts::12345678901:assumed-role/app/s", None),  # 11-digit account
    ("arn:aws:sts::123456789012:assumed-role/app", None),  # no session name
    ("arn:aws:sts::123456789012:assumed-role/app/s\narn:aws:iam::1:role/x", None),
])
def test_role_arn_normalization(arn, role):
    assert role_arn(arn) == role


# ------------------------------------------------------------- checks before STS
def test_no_header_wrong_scheme_or_garbage_is_401(recorder):
    v = CallerVerifier(recorder.url, "srv", ALLOWED)
    for header in (None, "", "Bearer abc", "STS-Identity", "STS-Identity !!!", "STS-Identity " +
                   base64.b64encode(b"[1]").decode(), "STS-Identity " + "A" * 17000):
        assert rejected(v, header).status == 401
    assert "STS-Identity" in rejected(v, None).message
    assert recorder.connections == 0


def test_url_elsewhere_is_401_and_nothing_is_forwarded(recorder):
    """A caller-chosen host is never contacted, nor the configured one (the request is refused)."""
    sts = Recorder()
    try:
        v = CallerVerifier(sts.url, "srv", ALLOWED)
        for url in (recorder.url, recorder.url + "/", sts.url + "@127.0.0.1:1", sts.url + "/?Action=x",
                    sts.url.replace("http:", "https:"), sts.url + "/other", "file:///etc/passwd", 42):
            header = edit(caller_identity_header(CREDS, "us-east-1", "srv", sts.url), lambda s: s.update(url=url))
            error = rejected(v, header)
            assert error.status == 401 and error.message.startswith("url:"), url
        assert recorder.connections == 0 and sts.connections == 0
    finally:
        sts.close()


def test_the_recorder_does_see_a_forwarded_request(recorder):
    """Positive control for the test above: a well-formed request does reach the endpoint."""
    v = CallerVerifier(recorder.url, "srv", ALLOWED)
    error = rejected(v, caller_identity_header(CREDS, "us-east-1", "srv", recorder.url))
    assert error.status == 503 and "STS not reachable" in error.message
    assert recorder.connections == 1


def test_signed_for_another_server_is_401(recorder):
    v = CallerVerifier(recorder.url, "srv", ALLOWED)
    error = rejected(v, caller_identity_header(CREDS, "us-east-1", "other-service", recorder.url))
    assert error.status == 401 and "X-Session-Server-Id" in error.message
    assert recorder.connections == 0


def test_server_id_not_signed_is_401(recorder):
    """Adding our id after signing (or removing it from SignedHeaders) does not pass."""
    v = CallerVerifier(recorder.url, "srv", ALLOWED)
    header = caller_identity_header(CREDS, "us-east-1", "srv", recorder.url)

    def unsign(signed):
        auth = signed["headers"]["Authorization"]
        signed["headers"]["Authorization"] = auth.replace(";x-session-server-id", "").replace("x-session-server-id;", "")

    error = rejected(v, edit(header, unsign))
    assert error.status == 401 and "must be a signed header" in error.message
    assert recorder.connections == 0


@pytest.mark.parametrize("change, field", [
    (lambda s: s.update(method="GET"), "method"),
    (lambda s: s.update(body="Action=AssumeRole&Version=2011-06-15"), "body"),
    (lambda s: s.update(body="Action=GetCallerIdentity&Version=2011-06-15&x=1"), "body"),
    (lambda s: s["headers"].update({"x-session-server-id": "srv"}), "headers"),  # a second copy
    (lambda s: s["headers"].update({"X-Evil": "a\r\nHost: elsewhere"}), "headers"),
    (lambda s: s["headers"].pop("Authorization"), "headers"),
    (lambda s: s["headers"].update({"X-Amz-Date": "yesterday"}), "headers"),
])
def test_malformed_signed_requests_are_401(recorder, change, field):
    v = CallerVerifier(recorder.url, "srv", ALLOWED)
    error = rejected(v, edit(caller_identity_header(CREDS, "us-east-1", "srv", recorder.url), change))
    assert error.status == 401 and error.message.startswith(field + ":"), error.message
    assert recorder.connections == 0


def test_a_signature_older_than_sigv4s_window_is_401(recorder):
    header = caller_identity_header(CREDS, "us-east-1", "srv", recorder.url)
    import time

    v = CallerVerifier(recorder.url, "srv", ALLOWED, clock=lambda: time.time() + 16 * 60)
    assert "15 minutes" in rejected(v, header).message
    assert recorder.connections == 0


# ------------------------------------------------------------------------- cache
class CountingVerifier(CallerVerifier):
    """STS replaced by a counter that answers the allowed role."""

    async def _ask_sts(self, signed):
        self.sts_calls += 1
        return Caller("arn:aws:iam::123456789012:role/app", "arn:aws:sts::123456789012:assumed-role/app/s")


def test_a_verified_header_is_cached_briefly_and_the_cache_is_bounded():
    now = [0.0]
    v = CountingVerifier("https://sts.us-east-1.amazonaws.com", "srv", ALLOWED, clock=lambda: now[0],
                         cache_seconds=60, cache_entries=2)
    headers = [caller_identity_header(botocore.credentials.Credentials(f"AKID{i}", "s", None), "us-east-1", "srv")
               for i in range(3)]
    import time

    now[0] = time.time()
    for _ in range(3):
        assert verify(v, headers[0]).role_arn == ALLOWED[0]
    assert v.sts_calls == 1
    now[0] += 61  # past the cache, inside SigV4's window: asked again
    verify(v, headers[0])
    assert v.sts_calls == 2
    for h in headers:  # three entries through a cache of two: the oldest goes
        verify(v, h)
    assert len(v._cache) == 2 and v.sts_calls == 4
    verify(v, headers[0])
    assert v.sts_calls == 5


def test_a_role_off_the_allow_list_is_403_even_from_the_cache():
    v = CountingVerifier("https://sts.us-east-1.amazonaws.com", "srv", ("arn:aws:iam::123456789012:role/other",))
    header = caller_identity_header(CREDS, "us-east-1", "srv")
    for _ in range(2):
        error = rejected(v, header)
        assert error.status == 403 and "not a trusted caller" in error.message


def test_verifications_in_flight_are_bounded(recorder, monkeypatch):
    """Past STS_CONCURRENCY calls waiting on STS, the next is 503 at once (no thread queue)."""
    from app import caller_auth

    release = asyncio.Event()

    async def held_sts(_post, headers):  # stands in for the worker thread that calls STS
        await release.wait()
        return 200, b"<Arn>arn:aws:sts::123456789012:assumed-role/app/s</Arn>"

    monkeypatch.setattr(caller_auth.asyncio, "to_thread", held_sts)

    async def run():
        v = CallerVerifier(recorder.url, "srv", ALLOWED)
        creds = [botocore.credentials.Credentials(f"AKID{i}", "s", None) for i in range(caller_auth.STS_CONCURRENCY + 1)]
        headers = [caller_identity_header(c, "us-east-1", "srv", recorder.url) for c in creds]
        waiting = [asyncio.create_task(v.verify(h)) for h in headers[:-1]]
        while v._in_flight < caller_auth.STS_CONCURRENCY:
            await asyncio.sleep(0)
        with pytest.raises(CallerRejected) as info:
            await v.verify(headers[-1])
        release.set()
        return info.value, await asyncio.gather(*waiting), v

    error, callers, v = asyncio.run(run())
    assert error.status == 503 and "in flight" in error.message
    assert [c.role_arn for c in callers] == [ALLOWED[0]] * len(callers) and v._in_flight == 0


def test_a_burst_with_one_new_header_costs_one_sts_call(recorder, monkeypatch):
    from app import caller_auth

    release = asyncio.Event()
    calls = []

    async def held_sts(_post, headers):
        calls.append(headers)
        await release.wait()
        return 200, b"<Arn>arn:aws:sts::123456789012:assumed-role/app/s</Arn>"

    monkeypatch.setattr(caller_auth.asyncio, "to_thread", held_sts)

    async def run():
        v = CallerVerifier(recorder.url, "srv", ALLOWED)
        header = caller_identity_header(CREDS, "us-east-1", "srv", recorder.url)
        burst = [asyncio.create_task(v.verify(header)) for _ in range(3 * caller_auth.STS_CONCURRENCY)]
        while not calls:
            await asyncio.sleep(0)
        for _ in range(10):  # let every request of the burst reach the verifier
            await asyncio.sleep(0)
        release.set()
        return await asyncio.gather(*burst), v

    callers, v = asyncio.run(run())
    assert len(callers) == 3 * caller_auth.STS_CONCURRENCY and {c.role_arn for c in callers} == {ALLOWED[0]}
    assert v.sts_calls == 1 and len(calls) == 1 and v._pending == {}
