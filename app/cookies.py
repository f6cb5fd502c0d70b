"""The session cookie: id format, parsing from the Cookie header, Set-Cookie.

Over HTTPS (the ALB's ``X-Forwarded-Proto: https``) the cookie is
``__Host-sid``: Secure, Path=/, no Domain, which browsers enforce; over plain
HTTP (local development) it is ``sid``.  Always HttpOnly and SameSite=Lax.
"""

from __future__ import annotations

import re
import secrets

SESSION_ID_BYTES = 32  # 256 random bits
SESSION_ID_LEN = 43  # base64url without padding
SESSION_ID_RE = re.compile(rb"[A-Za-z0-9_-]{43}")
SECURE_NAME = b"__Host-sid"
PLAIN_NAME = b"sid"
MAX_COOKIE_HEADER = 8192


def new_session_id() -> str:
    return secrets.token_urlsafe(SESSION_ID_BYTES)


def is_https(scheme: str, forwarded_proto: bytes | None) -> bool:
    """The scheme the client used: the ALB terminates TLS and says so in
    ``X-Forwarded-Proto`` (first value when there is a chain)."""
    if forwarded_proto:
        return forwarded_proto.split(b",", 1)[0].strip().lower() == b"https"
    return scheme == "https"


def cookie_name(secure: bool) -> bytes:
    return SECURE_NAME if secure else PLAIN_NAME


def find_cookie(header: bytes | None, name: bytes) -> bytes | None:
    """Value of the first cookie called *name* in a Cookie header, or None."""
    if not header:
        return None
    for part in header.split(b";"):
        k, sep, v = part.partition(b"=")
        if sep and k.strip() == name:
            v = v.strip()
            if len(v) >= 2 and v[:1] == b'"' and v[-1:] == b'"':
                v = v[1:-1]
            return v
    return None


def session_id_from(header: bytes | None, secure: bool) -> str | None:
    """The session id from the Cookie header if present and well formed."""
    raw = find_cookie(header, cookie_name(secure))
    if raw is None or not SESSION_ID_RE.fullmatch(raw):
        return None
    return raw.decode("ascii")


def set_cookie(session_id: str, secure: bool, max_age: int) -> bytes:
    attrs = [cookie_name(secure) + b"=" + session_id.encode("ascii"), b"Path=/", b"Max-Age=%d" % max(0, max_age), b"HttpOnly", b"SameSite=Lax"]
    if secure:
        attrs.append(b"Secure")
    return b"; ".join(attrs)


def clear_cookie(secure: bool) -> bytes:
    attrs = [cookie_name(secure) + b"=", b"Path=/", b"Max-Age=0", b"HttpOnly", b"SameSite=Lax"]
    if secure:
        attrs.append(b"Secure")
    return b"; ".join(attrs)
