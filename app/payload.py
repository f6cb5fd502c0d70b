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


def parse_create(body: bytes, *, max_bytes: int, max_depth: int, max_keys: int) -> tuple[dict, str | None]:
    """``POST /api/session`` body: ``{"data": {...}, "user_id": "..."}``, both
    optional; an empty body makes an empty session."""
    if not body.strip():
        return {}, None
    obj = parse_object(body, max_bytes=max_bytes, max_depth=max_depth + 1, max_keys=max_keys + 2)
    unknown = set(obj) - {"data", "user_id"}
    if unknown:
        raise PayloadError(422, "unknown fields: " + ", ".join(sorted(unknown)[:5]) + " (expected data, user_id)")
    data = obj.get("data", {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PayloadError(422, "data must be a JSON object")
    check_limits(data, max_depth, max_keys)
    user_id = obj.get("user_id")
    if user_id is not None:
        if not isinstance(user_id, str) or not USER_ID_RE.fullmatch(user_id):
            raise PayloadError(422, "user_id must be 1-128 characters of A-Z a-z 0-9 . _ @ + : = -")
    return data, user_id


def valid_user_id(user_id: str) -> bool:
    return bool(USER_ID_RE.fullmatch(user_id))
