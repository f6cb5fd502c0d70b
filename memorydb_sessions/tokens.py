"""Session tokens, their store keys and their public handles.

A token is what the cookie carries: ``<tag><secret>``, 12 + 43 base64url characters.

* The *secret* is 256 random bits.  It never reaches the store: the session's key holds
  its SHA-256 digest (``sess:{<tag>}:<digest>``), so a snapshot, a ``MONITOR`` or a
  mis-scoped ACL user yields no usable token (ASVS 7.2.x; preimages of SHA-256 over 256
  random bits are out of reach, so no key is needed on top).
* The *tag* is the Redis Cluster hash tag of every key of the session's owner.  For a
  signed-in user it is derived from the user id, so the user's sessions, the user's
  index and the user's revocation mark share one slot: creating, rotating, ending and
  revoking are single Lua scripts on one shard, atomic with respect to each other.  No
  interleaving exists to race (docs/security.md).  An anonymous session gets a random tag.
* The *handle* is the digest: it names a session in "my sessions" and in "end that
  session" without being able to act as one (the store key is derived from the token,
  never from the handle).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

TAG_LEN = 12  # 72 bits: tags of different users meet by chance only (and then only share a shard)
SECRET_BYTES = 32
SECRET_LEN = 43
TOKEN_LEN = TAG_LEN + SECRET_LEN
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{%d}" % TOKEN_LEN)
HANDLE_RE = re.compile(r"[A-Za-z0-9_-]{43}")

SESSION_PREFIX = "sess:"
INDEX_PREFIX = "usess:"
REVOKED_PREFIX = "urev:"
RATE_PREFIX = "rate:"
# The session service's reference application keeps its user directory beside the sessions
# (app/users.py). Declared here so the stack's ACL rule derives from one list.
DIRECTORY_PREFIX = "dir:"
KEY_PREFIXES = (SESSION_PREFIX, INDEX_PREFIX, REVOKED_PREFIX, RATE_PREFIX, DIRECTORY_PREFIX)


def acl_key_patterns() -> str:
    """The ACL key patterns that reach every key this package (and the service) writes."""
    return " ".join(f"~{prefix}*" for prefix in KEY_PREFIXES)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def user_tag(user_id: str) -> str:
    """The hash tag shared by every key of *user_id* (stable, not secret)."""
    return _b64(hashlib.sha256(b"memorydb-sessions/user-tag\x00" + user_id.encode()).digest())[:TAG_LEN]


def new_token(user_id: str | None = None) -> str:
    """A fresh token in the user's slot (or a random slot for an anonymous session)."""
    tag = user_tag(user_id) if user_id is not None else secrets.token_urlsafe(9)
    return tag + secrets.token_urlsafe(SECRET_BYTES)


def is_token(value: str) -> bool:
    return TOKEN_RE.fullmatch(value) is not None


def tag_of(token: str) -> str:
    return token[:TAG_LEN]


def handle_of(token: str) -> str:
    return _b64(hashlib.sha256(token.encode("ascii")).digest())


def slot_prefix(tag: str) -> str:
    """Prefix of the session keys in one slot: ``sess:{tag}:``."""
    return SESSION_PREFIX + "{" + tag + "}:"


def session_key(token: str) -> str:
    return slot_prefix(tag_of(token)) + handle_of(token)


def index_key(user_id: str) -> str:
    """The user's sessions: a sorted set of handles scored by creation time (ms)."""
    return INDEX_PREFIX + "{" + user_tag(user_id) + "}:" + user_id


def revoked_key(user_id: str) -> str:
    """When the user last revoked everything (ms): sign-ins proven before it are refused."""
    return REVOKED_PREFIX + "{" + user_tag(user_id) + "}:" + user_id


def rate_key(scope: str, subject: str) -> str:
    """A sliding-window counter; the subject (an address, an account) is hashed, not stored."""
    digest = _b64(hashlib.sha256(subject.encode()).digest())[:22]
    return RATE_PREFIX + scope + ":{" + digest + "}"
