"""Parsing and limits for session payloads: JSON objects only, bounded in
bytes, nesting depth and number of keys/items; JSON Merge Patch (RFC 7396)."""

from __future__ import annotations

import re

import orjson

USER_ID_RE = re.compile(r"[A-Za-z0-9._@+:=-]{1,128}")
JSON_CONTENT_TYPES = ("application/json", "application/merge-patch+json")


class PayloadError(Exception):
    """The request payload is unacceptable; carries the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_body(receive, limit: int, content_length: bytes | None = None) -> bytes:
    """The whole ASGI request body, refused with 413 once it passes *limit* bytes: early from a
    declared Content-Length, else while reading, so no more than *limit* bytes are ever held."""
    if content_length is not None:
        try:
            declared = int(content_length)
        except ValueError:
            raise PayloadError(400, "bad Content-Length") from None
        if declared > limit:
            raise PayloadError(413, f"payload larger than {limit} bytes")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise PayloadError(400, "client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadError(413, f"payload larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def media_type(content_type: bytes | str | None) -> str:
    """``application/json; charset=utf-8`` -> ``application/json`` (lower case)."""
    if content_type is None:
        return ""
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")
    return content_type.split(";", 1)[0].strip().lower()


def check_content_type(content_type: bytes | str | None, allowed=JSON_CONTENT_TYPES) -> None:
    mt = media_type(content_type)
    if mt not in allowed:
        raise PayloadError(415, f"Content-Type must be one of: {', '.join(allowed)}")
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")
    for param in (content_type or "").split(";")[1:]:
        k, _, v = param.partition("=")
        if k.strip().lower() == "charset" and v.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise PayloadError(415, "JSON must be UTF-8")


def check_limits(value: object, max_depth: int, max_keys: int) -> None:
    """Reject values nested deeper than *max_depth* containers or with more than
    *max_keys* object keys plus array items in total."""
    count = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict):
            children = v.values()
        elif isinstance(v, list):
            children = v
        else:
            continue
        if depth > max_depth:
            raise PayloadError(422, f"JSON nested deeper than {max_depth} levels")
        count += len(v)
        if count > max_keys:
            raise PayloadError(422, f"JSON has more than {max_keys} keys and items")
        for c in children:
            if isinstance(c, (dict, list)):
                stack.append((c, depth + 1))


def parse_object(body: bytes, *, max_bytes: int, max_depth: int, max_keys: int) -> dict:
    """Parse *body* as one JSON object within the limits."""
    if len(body) > max_bytes:
        raise PayloadError(413, f"payload larger than {max_bytes} bytes")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise PayloadError(400, "body is not valid JSON") from None
    if not isinstance(value, dict):
        raise PayloadError(422, "body must be a JSON object")
    check_limits(value, max_depth, max_keys)
    return value


def merge_patch(target: object, patch: object) -> object:
    """JSON Merge Patch (RFC 7396): objects merge recursively, ``null`` removes
    a member, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


def parse_create(body: bytes, *, max_bytes: int, max_depth: int, max_keys: int) -> dict:
    """``POST /api/session`` body: ``{"data": {...}}``, optional; an empty body makes an
    empty session.  ``user_id`` is refused: a browser cannot claim an identity, it signs in
    (``POST /api/sign-in``) or a trusted backend binds one (docs/security.md)."""
    if not body.strip():
        return {}
    obj = parse_object(body, max_bytes=max_bytes, max_depth=max_depth + 1, max_keys=max_keys + 2)
    if "user_id" in obj:
        raise PayloadError(422, "user_id cannot be set by a browser request: sign in (POST /api/sign-in) "
                                "or bind it from a trusted backend (the application plane)")
    unknown = set(obj) - {"data"}
    if unknown:
        raise PayloadError(422, "unknown fields: " + ", ".join(sorted(unknown)[:5]) + " (expected data)")
    data = obj.get("data", {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PayloadError(422, "data must be a JSON object")
    check_limits(data, max_depth, max_keys)
    return data


def parse_fields(body: bytes, fields: dict[str, int], *, max_bytes: int) -> dict[str, str]:
    """A JSON object of exactly *fields* (name -> maximum length), all strings."""
    obj = parse_object(body, max_bytes=max_bytes, max_depth=2, max_keys=len(fields) + 1)
    unknown = set(obj) - set(fields)
    if unknown:
        raise PayloadError(422, "unknown fields: " + ", ".join(sorted(unknown)[:5]) + f" (expected {', '.join(fields)})")
    out = {}
    for name, limit in fields.items():
        value = obj.get(name)
        if not isinstance(value, str) or not 1 <= len(value) <= limit:
            raise PayloadError(422, f"{name} must be a string of 1-{limit} characters")
        out[name] = value
    return out


def valid_user_id(user_id: str) -> bool:
    return bool(USER_ID_RE.fullmatch(user_id))
