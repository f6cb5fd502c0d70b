"""Django sessions on MemoryDB / Redis Cluster: ``SESSION_ENGINE = "memorydb_sessions.django"``.

A full ``SessionBase`` on the one core (``SyncSessionStore``): no second store, no Redis
command of its own.  What Django's contract maps to:

* ``load``/``exists`` read the session (one round trip); ``save`` is the core's atomic
  compare-and-set on the client data, and raises ``UpdateError`` when the session ended
  meanwhile (another request logged out): it is never resurrected.
* Keys are the core's tokens (55 base64url characters, minted by the core, never chosen by
  the caller: no fixation).  Django accepts any key of 8 characters or more; a cookie that
  is not a token is treated as an unknown session and never sent to the store.
* Sign-in.  ``django.contrib.auth.login()`` calls ``cycle_key()`` (or ``flush()``) and only
  then puts ``_auth_user_id`` in the session; the middleware saves afterwards.  So
  ``cycle_key`` rotates (a new token at once, as Django's tests require) and ``save`` sees
  that the session now names a user it is not bound to and calls the core's ``sign_in``:
  a NEW token in that user's slot and index, the old one ended in the same call.  From then
  on "end my other sessions" and "log out everywhere" reach it, and a sign-in whose
  password check raced "log out everywhere" is refused (``SignInRevoked``: the proof time is
  taken when login() starts, i.e. at ``cycle_key``/``flush``).
* Expiry: the core's idle timeout (slid on reads) and absolute lifetime always apply.
  ``SESSION_COOKIE_AGE`` and ``set_expiry()`` can only shorten them: ``get_expiry_age`` is
  Django's value capped by the core's policy (so the cookie never outlives the session),
  and a Django expiry shorter than the idle timeout is stored with the data and enforced on
  load.
* ``clear_expired`` is a no-op: every key carries a TTL and Redis removes it.

Settings: ``MEMORYDB_SESSIONS = {"SESSION_STORE_ENDPOINT": ..., ...}`` in Django's settings,
under the same names as the environment variables (``memorydb_sessions.environment``);
names not given there are read from the environment.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase, UpdateError
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from . import tokens
from .connection import ConfigurationError
from .environment import VARIABLES, policy_from_env, store_config_from_env
from .errors import SessionLimitReached, SignInRevoked, StoreUnavailable
from .sync import SyncSessionStore

__all__ = ["SessionStore", "SessionMiddleware", "get_store", "end_other_sessions", "log_out_everywhere",
           "list_sessions", "end_session", "update_session_auth_hash"]

AUTH_USER_KEY = "_auth_user_id"  # django.contrib.auth.SESSION_KEY (not imported: auth is optional)
EXPIRES_KEY = "_memorydb_expires_ms"  # a Django expiry tighter than the core's idle timeout
_ENV_NAMES = frozenset(VARIABLES)  # MEMORYDB_SESSIONS takes the environment's names

_lock = threading.Lock()
_store: SyncSessionStore | None = None


def get_store() -> SyncSessionStore:
    """The process's store, built once from ``settings.MEMORYDB_SESSIONS`` over the environment."""
    global _store
    if _store is None:
        with _lock:
            if _store is None:
                _store = _build_store()
    return _store


def _build_store() -> SyncSessionStore:
    given = getattr(settings, "MEMORYDB_SESSIONS", None) or {}
    if not isinstance(given, dict):
        raise ImproperlyConfigured("MEMORYDB_SESSIONS must be a dict of setting names to values")
    unknown = sorted(set(given) - _ENV_NAMES)
    if unknown:
        raise ImproperlyConfigured(f"MEMORYDB_SESSIONS: unknown setting {unknown[0]!r}; "
                                   f"known: {', '.join(sorted(_ENV_NAMES))}")
    env = {**os.environ, **{k: "" if v is None else str(v) for k, v in given.items()}}
    try:
        return SyncSessionStore(store_config_from_env(env), policy_from_env(env))
    except ConfigurationError as exc:
        raise ImproperlyConfigured(f"MEMORYDB_SESSIONS: {exc}") from None


def _reset(*, setting: str, **_: Any) -> None:
    global _store
    if setting == "MEMORYDB_SESSIONS":
        with _lock:
            old, _store = _store, None
        if old is not None:
            old.close()


setting_changed.connect(_reset)


def _user_in(data: dict) -> str | None:
    user_id = data.get(AUTH_USER_KEY)
    return None if user_id is None else str(user_id)


def _now_ms() -> int:
    return int(time.time() * 1000)


class SessionStore(SessionBase):
    """Django's session API on the core; see the module docstring for the mapping."""

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._store = get_store()
        self._bound_user: str | None = None  # the user the stored session is bound to
        self._created_ms: int | None = None
        self._proof_ms: int | None = None  # when login() started (cycle_key / flush)
        self.client_ip: str | None = None  # set by SessionMiddleware: shown in "my sessions"
        self.user_agent: str | None = None

    # ------------------------------------------------------------- expiry
    def _cap_seconds(self) -> int:
        policy = self._store.policy
        if self._created_ms is None:
            return policy.idle_timeout
        left = (self._created_ms + policy.absolute_lifetime * 1000 - _now_ms()) // 1000
        return max(0, min(policy.idle_timeout, left))

    def get_expiry_age(self, **kwargs: Any) -> int:
        return min(super().get_expiry_age(**kwargs), self._cap_seconds())

    async def aget_expiry_age(self, **kwargs: Any) -> int:
        return min(await super().aget_expiry_age(**kwargs), self._cap_seconds())

    def get_expiry_date(self, **kwargs: Any) -> datetime:
        date = super().get_expiry_date(**kwargs)
        cap = kwargs.get("modification") or timezone.now()
        return min(date, cap + timedelta(seconds=self._cap_seconds()))

    async def aget_expiry_date(self, **kwargs: Any) -> datetime:
        date = await super().aget_expiry_date(**kwargs)
        cap = kwargs.get("modification") or timezone.now()
        return min(date, cap + timedelta(seconds=self._cap_seconds()))

    # ------------------------------------------------------------- the contract
    def _token(self, key: str | None) -> str | None:
        return key if key and tokens.is_token(key) else None

    def load(self) -> dict:
        token = self._token(self.session_key)
        session = self._store.read(token) if token else None
        if session is not None:
            data = dict(session.data)
            expires = data.pop(EXPIRES_KEY, None)
            if expires is None or int(expires) > _now_ms():
                self._bound_user, self._created_ms = session.user_id, session.created_ms
                return data
            self._store.delete(token)  # its Django expiry passed: gone, as on any backend
        self._session_key = None
        self._bound_user = self._created_ms = None
        return {}

    def exists(self, session_key: str | None) -> bool:
        token = self._token(session_key)
        return token is not None and self._store.read(token) is not None

    def create(self) -> None:
        """A new session with the current data (bound to its user when the data names one:
        after ``flush()`` in ``login()``)."""
        current = getattr(self, "_session_cache", {})
        user_id = _user_in(current)
        data = self._stored_data(current)
        if user_id is None:
            session = self._store.create(data, client_ip=self.client_ip, user_agent=self.user_agent)
        else:
            session = self._store.sign_in(user_id, authenticated_at_ms=self._proof_ms or _now_ms(), data=data,
                                          client_ip=self.client_ip, user_agent=self.user_agent)
        self._session_key = session.token
        self._bound_user, self._created_ms = user_id, session.created_ms
        self.modified = True

    def save(self, must_create: bool = False) -> None:
        token = self._token(self.session_key)
        if token is None or must_create:
            # The core mints every token: "create under this key" becomes "create a new one".
            self._get_session(no_load=must_create)
            self.create()
            return
        current = self._session
        data = self._stored_data(current)
        if _user_in(current) != self._bound_user:
            self._rebind(token, _user_in(current), data)
            return
        if self._store.update_data(token, data) is None:
            raise UpdateError  # ended meanwhile (logged out elsewhere): never resurrect it

    def _rebind(self, token: str, user_id: str | None, data: dict) -> None:
        """The session names another user than it is bound to: a new token in that user's
        slot (sign-in) or a new anonymous one, and the old one ends."""
        if not self.exists(token):
            raise UpdateError
        if user_id is None:
            session = self._store.create(data, client_ip=self.client_ip, user_agent=self.user_agent)
            self._store.delete(token)
        else:
            session = self._store.sign_in(user_id, authenticated_at_ms=self._proof_ms or _now_ms(), data=data,
                                          replaces=token, client_ip=self.client_ip, user_agent=self.user_agent)
        self._session_key = session.token
        self._bound_user, self._created_ms = user_id, session.created_ms
        self.modified = True  # the cookie must carry the new token

    def _stored_data(self, data: dict) -> dict:
        """What Django's serializer would give back (the core stores JSON), plus the Django
        expiry when it is tighter than the core's idle timeout."""
        serializer = self.serializer()
        out = serializer.loads(serializer.dumps(dict(data)))
        age = super().get_expiry_age(expiry=data.get("_session_expiry"))
        if age < self._store.policy.idle_timeout:
            out[EXPIRES_KEY] = _now_ms() + age * 1000
        return out

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            session_key = self.session_key
        token = self._token(session_key)
        if token is not None:
            self._store.delete(token)

    def cycle_key(self) -> None:
        """A new key for the same data.  A saved session is rotated by the core (the old
        token dies in the same step; a signed-in session stays in its user's index); the
        identity binding happens at ``save`` (see the module docstring)."""
        self._proof_ms = _now_ms()
        data = self._session
        token = self._token(self.session_key)
        rotated = self._store.rotate(token) if token else None
        if rotated is None:
            if self._bound_user is not None:
                # The signed-in session ended meanwhile (revoked, logged out elsewhere): its
                # data must not come back under a new token, which would undo the revocation.
                data = {}
                self._session_cache = data
            self.create()
        else:
            self._session_key = rotated.token
            self._bound_user, self._created_ms = rotated.user_id, rotated.created_ms
        self._session_cache = data
        self.modified = True

    async def acycle_key(self) -> None:
        await sync_to_async(self.cycle_key)()

    def flush(self) -> None:
        self._proof_ms = _now_ms()
        super().flush()
        self._bound_user = self._created_ms = None

    async def aflush(self) -> None:
        await sync_to_async(self.flush)()

    @classmethod
    def clear_expired(cls) -> None:
        """Nothing to do: every session key has a TTL (idle, capped by the absolute
        lifetime) and Redis/MemoryDB removes expired keys itself."""


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's middleware, plus: the client's address and agent for "my sessions"; 503
    with ``Retry-After`` when the store is unreachable (failover in progress) instead of a
    500; a refused sign-in (revoked meanwhile: 403, at the session cap with
    ``SESSION_LIMIT_ACTION=refuse``: 409) answered as such, with no session cookie.  Use it in place of ``django.contrib.sessions.middleware.SessionMiddleware``."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        session = request.session
        if isinstance(session, SessionStore):
            session.client_ip = request.META.get("REMOTE_ADDR")
            session.user_agent = (request.META.get("HTTP_USER_AGENT") or "")[:200] or None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return _unavailable() if isinstance(exception, StoreUnavailable) else None

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        try:
            return super().process_response(request, response)
        except StoreUnavailable:
            return _unavailable()
        except (SignInRevoked, SessionLimitReached) as exc:
            refused = HttpResponse(f"sign-in refused: {exc}\n", status=403 if isinstance(exc, SignInRevoked) else 409,
                                   content_type="text/plain")
            refused.delete_cookie(settings.SESSION_COOKIE_NAME, path=settings.SESSION_COOKIE_PATH,
                                  domain=settings.SESSION_COOKIE_DOMAIN)
            return refused


def _unavailable() -> HttpResponse:
    response = HttpResponse("session store unavailable, retry shortly\n", status=503, content_type="text/plain")
    response["Retry-After"] = "1"
    return response


# ------------------------------------------------------------------ helpers for views
def _user_of(request: HttpRequest) -> str | None:
    session = request.session
    if isinstance(session, SessionStore):
        session._session  # load: binds _bound_user
        return session._bound_user
    return None


def end_other_sessions(request: HttpRequest) -> int:
    """End every other session of the signed-in user (call after a password change);
    returns how many ended.  The current session stays."""
    user_id = _user_of(request)
    if user_id is None:
        return 0
    return get_store().end_other_sessions(user_id, keep=request.session.session_key)


def update_session_auth_hash(request: HttpRequest, user: Any) -> int:
    """Drop-in for ``django.contrib.auth.update_session_auth_hash``: keeps this session
    signed in with the new password hash and ENDS the user's other sessions in the store
    (Django alone only makes them fail the hash check when next used)."""
    from django.contrib.auth import update_session_auth_hash as django_update

    django_update(request, user)
    return end_other_sessions(request)


def log_out_everywhere(request: HttpRequest) -> int:
    """End every session of the signed-in user, this one included, and refuse sign-ins
    whose password was checked before now; then log this request out."""
    from django.contrib.auth import logout

    user_id = _user_of(request)
    ended = get_store().revoke_user(user_id) if user_id is not None else 0
    logout(request)
    return ended


def list_sessions(request: HttpRequest) -> list:
    """The signed-in user's sessions (``SessionInfo``: handle, times, address; never a token)."""
    user_id = _user_of(request)
    return [] if user_id is None else get_store().list_sessions(user_id, current=request.session.session_key)


def end_session(request: HttpRequest, handle: str) -> bool:
    """End one of the signed-in user's sessions by its handle (from ``list_sessions``)."""
    user_id = _user_of(request)
    return False if user_id is None else get_store().end_session(user_id, handle)

