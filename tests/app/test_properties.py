"""Property-based tests (hypothesis) for request parsing: cookies, JSON bodies,
limits, merge patch, forwarded proto."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import cookies, payload
from memorydb_sessions import tokens

json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20) | st.floats(
    allow_nan=False, allow_infinity=False
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=30,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=6)
LIMITS = dict(max_bytes=4096, max_depth=8, max_keys=256)


@given(st.binary(max_size=300))
def test_cookie_parser_never_crashes_and_only_returns_valid_ids(header):
    for secure in (False, True):
        sid = cookies.session_token_from(header, secure)
        assert sid is None or tokens.TOKEN_RE.fullmatch(sid)


@given(st.lists(st.tuples(st.from_regex(r"[A-Za-z_]{1,8}", fullmatch=True), st.from_regex(r"[A-Za-z0-9]{0,10}", fullmatch=True)), max_size=5), st.booleans())
def test_session_cookie_found_among_others(pairs, secure):
    sid = tokens.new_token()
    name = cookies.cookie_name(secure).decode()
    others = [(k, v) for k, v in pairs if k not in ("sid", "__Host-sid")]
    parts = [f"{k}={v}" for k, v in others] + [f"{name}={sid}"]
    header = "; ".join(parts).encode()
    assert cookies.session_token_from(header, secure) == sid


@given(st.integers(0, 200))
def test_new_ids_are_256_bits_urlsafe(_):
    sid = tokens.new_token()
    assert tokens.TOKEN_RE.fullmatch(sid)


@given(st.binary(max_size=500))
def test_parse_object_raises_only_payload_errors(body):
    try:
        obj = payload.parse_object(body, **LIMITS)
    except payload.PayloadError as e:
        assert e.status in (400, 413, 422)
    else:
        assert isinstance(obj, dict)


@given(st.binary(max_size=500))
def test_parse_create_raises_only_payload_errors(body):
    try:
        data = payload.parse_create(body, **LIMITS)
    except payload.PayloadError as e:
        assert e.status in (400, 413, 422)
    else:
        assert isinstance(data, dict)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(json_objects)
def test_valid_objects_round_trip(obj):
    body = orjson.dumps(obj)
    if len(body) <= 4096:
        try:
            assert payload.parse_object(body, **LIMITS) == obj
        except payload.PayloadError as e:
            assert e.status == 422  # only the depth/key limits may refuse it


@given(st.integers(1, 30), st.integers(1, 12))
def test_depth_limit_is_exact(depth, limit):
    value: object = 1
    for _ in range(depth):
        value = {"k": value}
    if depth <= limit:
        payload.check_limits(value, limit, 10_000)
    else:
        with pytest.raises(payload.PayloadError):
            payload.check_limits(value, limit, 10_000)


@given(json_objects, json_objects)
def test_merge_patch_properties(target, patch):
    merged = payload.merge_patch(target, patch)
    # Idempotent: applying the same patch twice changes nothing more.
    assert payload.merge_patch(merged, patch) == merged
    for k, v in patch.items():
        if v is None:
            assert k not in merged
        elif not isinstance(v, dict):
            assert merged[k] == v
    for k in target:
        if k not in patch:
            assert merged[k] == target[k]


@given(st.text(max_size=60))
def test_content_type_parsing(ct):
    try:
        payload.check_content_type(ct.encode("utf-8", "replace"))
    except payload.PayloadError as e:
        assert e.status == 415
    else:
        assert payload.media_type(ct) in payload.JSON_CONTENT_TYPES


@given(st.binary(max_size=40), st.sampled_from(["http", "https"]))
def test_forwarded_proto(value, scheme):
    secure = cookies.is_https(scheme, value or None)
    if value:
        assert secure == (value.split(b",")[0].strip().lower() == b"https")
    else:
        assert secure == (scheme == "https")


@given(st.lists(st.sampled_from(["x", " ", "sess:", "usess:", "DEL", "'", "\n"]) | st.just(None), max_size=8))
def test_redaction_removes_session_ids_and_keys(parts):
    from memorydb_sessions.tokens import new_token as new_session_id
    from app.observability import redact

    sid = new_session_id()
    text = "".join(p if p is not None else sid for p in parts) + f" Command # 1 (DEL sess:{sid}) of pipeline"
    out = redact(text)
    assert sid not in out and "sess:" + sid[:5] not in out
