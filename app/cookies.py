"""The session cookie: parsing from the Cookie header, Set-Cookie.

Over HTTPS (the ALB's ``X-Forwarded-Proto: https``) the cookie is ``__Host-sid``: Secure,
Path=/, no Domain, which browsers enforce; over plain HTTP (local development) it is
``sid``.  Always HttpOnly and SameSite=Lax.  No Max-Age by default: a browser-session
cookie that dies with the browser (OWASP Session Management Cheat Sheet); the store's
idle and absolute expiry end the session itself either way.
"""

from __future__ import annotations

from memorydb_sessions import tokens

SECURE_NAME = b"__Host-sid"
PLAIN_NAME = b"sid"
MAX_COOKIE_HEADER = 8192


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


def session_token_from(header: bytes | None, secure: bool) -> str | None:
    """The session token from the Cookie header if present and well formed."""
    raw = find_cookie(header, cookie_name(secure))
    if raw is None or not tokens.TOKEN_RE.fullmatch(raw.decode("latin-1")):
        return None
    return raw.decode("ascii")


def set_cookie(token: str, secure: bool, max_age: int | None) -> bytes:
    """*max_age*: seconds, or None for a browser-session cookie."""
    attrs = [cookie_name(secure) + b"=" + token.encode("ascii"), b"Path=/"]
    if max_age is not None:
        attrs.append(b"Max-Age=%d" % max(0, max_age))
    attrs += [b"HttpOnly", b"SameSite=Lax"]
    if secure:
        attrs.append(b"Secure")
    return b"; ".join(attrs)


def clear_cookie(secure: bool) -> bytes:
    attrs = [cookie_name(secure) + b"=", b"Path=/", b"Max-Age=0", b"HttpOnly", b"SameSite=Lax"]
    if secure:
        attrs.append(b"Secure")
    return b"; ".join(attrs)
