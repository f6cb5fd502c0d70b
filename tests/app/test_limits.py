"""Payload limits, bad JSON, wrong content types, malformed/forged/unknown/oversized
cookies and huge headers: always a 4xx, never a 500, and the server stays up."""

from __future__ import annotations

import socket

import pytest

from .conftest import cookie, new_session


def test_payload_over_limit_is_413(http):
    big = {"data": {"blob": "x" * 5000}}
    assert http.post("/api/session", json=big).status_code == 413
    # Exactly at the limit is fine: data serialises to 4096 bytes.
    filler = "y" * (4096 - len('{"blob":""}'))
    r = http.post("/api/session", json={"data": {"blob": filler}})
    assert r.status_code in (201, 413)  # envelope counts against the request limit
    r = http.post("/api/session", json={"data": {"blob": "y" * 3900}})
    assert r.status_code == 201


def test_patch_growing_past_limit_is_413(http):
    sid = new_session(http, {"a": "x" * 3000})
    r = http.patch("/api/session", json={"b": "y" * 2000}, headers=cookie(sid))
    assert r.status_code == 413
    assert http.get("/api/session", headers=cookie(sid)).json()["data"] == {"a": "x" * 3000}


def test_content_length_over_limit_is_rejected_before_reading(service):
    # The server refuses on the header alone: the announced body never comes.
    resp = _raw_request(
        service.port,
        b"POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 999999\r\n\r\n{}",
    )
    assert resp.startswith(b"HTTP/1.1 413"), resp[:100]


def test_too_deep_and_too_many_keys_are_422(http):
    deep: dict = {}
    cur = deep
    for _ in range(20):
        cur["d"] = {}
        cur = cur["d"]
    assert http.post("/api/session", json={"data": deep}).status_code == 422
    many = {f"k{i}": i for i in range(300)}
    assert http.post("/api/session", json={"data": many}).status_code == 422
    sid = new_session(http, {})
    assert http.patch("/api/session", json=deep, headers=cookie(sid)).status_code == 422


@pytest.mark.parametrize(
    "body",
    [b"{", b"not json", b"\xff\xfe", b'{"data": NaN}', b'{"a":1}{"b":2}', b"[1,2", b'{"data": 1e999999}'],
)
def test_bad_json_is_400(http, body):
    r = http.post("/api/session", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    sid = new_session(http)
    r = http.patch("/api/session", content=body, headers={**cookie(sid), "Content-Type": "application/json"})
    assert r.status_code == 400


@pytest.mark.parametrize("body", [b"[]", b"1", b'"s"', b"null", b'{"data": [1]}', b'{"user_id": 5}', b'{"extra": 1}'])
def test_wrong_json_shape_is_422(http, body):
    r = http.post("/api/session", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text


@pytest.mark.parametrize(
    "ctype", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=latin-1"]
)
def test_wrong_content_type_is_415(http, ctype):
    r = http.post("/api/session", content=b'{"data":{}}', headers={"Content-Type": ctype})
    assert r.status_code == 415
    sid = new_session(http)
    r = http.patch("/api/session", content=b"{}", headers={**cookie(sid), "Content-Type": ctype})
    assert r.status_code == 415


def test_patch_without_content_type_is_415(http):
    sid = new_session(http)
    r = http.patch("/api/session", content=b"{}", headers=cookie(sid))
    assert r.status_code == 415


@pytest.mark.parametrize(
    "value",
    [
        "short",
        "A" * 42,
        "A" * 44,
        "A" * 42 + "!",
        "A" * 42 + "=",
        "../../etc/passwd",
        "A" * 4000,
        '"' + "A" * 43 + '"x',
        "",
    ],
)
def test_malformed_cookies_are_401(http, value):
    assert http.get("/api/session", headers={"Cookie": f"sid={value}"}).status_code == 401


def test_forged_and_unknown_ids_are_401(http):
    # Well-formed but never issued (or already deleted): indistinguishable from expired.
    for forged in ("A" * 43, "-" * 43, "_" * 43):
        assert http.get("/api/session", headers=cookie(forged)).status_code == 401
    sid = new_session(http)
    flipped = ("B" if sid[0] != "B" else "C") + sid[1:]
    assert http.get("/api/session", headers=cookie(flipped)).status_code == 401


def test_cookie_among_others_and_repeated_headers(http):
    sid = new_session(http, {"ok": True})
    assert http.get("/api/session", headers={"Cookie": f"a=1; sid={sid}; b=2"}).status_code == 200
    # First sid wins; a junk second one does not break parsing.
    assert http.get("/api/session", headers={"Cookie": f"sid={sid}; sid=junk"}).status_code == 200


def test_oversized_cookie_header_is_431(http):
    r = http.get("/api/session", headers={"Cookie": "a=" + "x" * 9000})
    assert r.status_code == 431


def _raw_request(port: int, data: bytes, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        chunks = []
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
                if b"\r\n\r\n" in b"".join(chunks):
                    break
        except (ConnectionResetError, socket.timeout):
            pass
        return b"".join(chunks)


def test_huge_headers_are_refused_and_server_survives(service, http):
    huge = b"X-Big: " + b"a" * 200_000 + b"\r\n"
    resp = _raw_request(service.port, b"GET /api/session HTTP/1.1\r\nHost: x\r\n" + huge + b"\r\n")
    assert resp.startswith(b"HTTP/1.1 431"), resp[:100]
    many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(2000))
    resp = _raw_request(service.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert resp.startswith(b"HTTP/1.1 431"), resp[:100]
    assert http.get("/healthz").status_code == 200


def test_garbage_request_line_is_400(service, http):
    resp = _raw_request(service.port, b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
    assert resp == b"" or resp.startswith(b"HTTP/1.1 4")
    assert http.get("/healthz").status_code == 200
