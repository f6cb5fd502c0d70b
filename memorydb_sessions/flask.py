"""Flask sessions on MemoryDB / Redis Cluster: ``app.session_interface = MemoryDBSessionInterface()``.

A ``SessionInterface`` on the one core (``SyncSessionStore``): no Redis command of its own.
What Flask's contract maps to:

* The cookie carries only the core's token (55 base64url characters, minted by the core);
  the data stays in the store.  A cookie that is not a token never reaches the store.
* Loading is lazy: the store is read the first time the view touches ``session``, so a
  view that never does (``/healthz``) costs no store call, and a store that is down
  answers 503 (``Retry-After``) from inside the view instead of Flask's 500.
* Saving follows Flask's own rule: only when ``session.modified`` (set by assignments,
  deletions and ``session.modified = True`` after a nested change).  The write is the
  core's atomic compare-and-set: a session ended meanwhile (logged out elsewhere) is not
  resurrected; its cookie is cleared.  An empty, unmodified session creates nothing and
  sets no cookie; an emptied one is deleted from the store and its cookie cleared.
* Cookies use Flask's settings (``SESSION_COOKIE_NAME/DOMAIN/PATH/SECURE/HTTPONLY/SAMESITE/
  PARTITIONED``).  ``session.permanent`` gives the cookie ``PERMANENT_SESSION_LIFETIME``,
  never past the core's absolute lifetime of the session; the core's idle timeout applies
  to every session whatever the cookie says.
* ``sign_in(user_id)`` binds a user with the core's ``sign_in`` (a NEW token, the old one
  ended: no fixation; refused if the user revoked every session after the proof);
  ``rotate()``, ``sign_out()``, ``sign_out_everywhere()``, ``end_other_sessions()`` and
  ``list_sessions()`` act at once on the store.

Data is stored as JSON (the core's format): values must be JSON types.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from flask import Flask, Request, Response
from flask import session as current_session
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.exceptions import ServiceUnavailable

from . import tokens
from .environment import policy_from_env, store_config_from_env
from .errors import StoreUnavailable
from .sessions import Session, SessionInfo
from .sync import SyncSessionStore

__all__ = ["MemoryDBSessionInterface", "MemoryDBSession", "sign_in", "sign_out", "sign_out_everywhere", "rotate",
           "end_other_sessions", "list_sessions"]

RETRY_AFTER_S = 1


def _unavailable(exc: StoreUnavailable) -> ServiceUnavailable:
    return ServiceUnavailable("the session store is unavailable; retry shortly", retry_after=RETRY_AFTER_S)


class MemoryDBSession(SessionMixin):
    """``flask.session``: a mapping loaded from the store on first use."""

    def __init__(self, interface: "MemoryDBSessionInterface", token: str | None) -> None:
        self._interface = interface
        self.token = token  # None until the store has the session
        self._user_id: str | None = None
        self.created_ms: int | None = None
        self.opened_ms = int(time.time() * 1000)  # default proof time of sign_in (see sign_in)
        self._data: dict | None = None if token else {}
        self.new = token is None
        self.modified = False
        self.accessed = False
        self.cookie_changed = False  # the token changed (sign-in, rotation, ending)
        self.had_cookie = token is not None

    # Loading on first use of the data (reads of `permanent` included).
    def _loaded(self) -> dict:
        if self._data is None:
            self.accessed = True
            session = self._interface.call("read", self.token)
            self._adopt(session)
        return self._data  # type: ignore[return-value]

    def _adopt(self, session: Session | None) -> None:
        if session is None:  # unknown or ended: a new, empty session
            if self.token is not None:
                self.cookie_changed = True
            self.token, self._user_id, self.created_ms, self._data, self.new = None, None, None, {}, True
        else:
            self.token, self._user_id, self.created_ms = session.token, session.user_id, session.created_ms
            self._data = copy.deepcopy(session.data)

    @property
    def user_id(self) -> str | None:
        """The user bound by ``sign_in`` (server-side, not in the data); loads the session."""
        self._loaded()
        return self._user_id

    @property
    def loaded(self) -> bool:
        return self._data is not None

    def __getitem__(self, key: str) -> Any:
        return self._loaded()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._loaded()[key] = value
        self.modified = True

    def __delitem__(self, key: str) -> None:
        del self._loaded()[key]
        self.modified = True

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())

    def __repr__(self) -> str:
        return f"<MemoryDBSession user={self._user_id!r} {self._data!r}>"


class MemoryDBSessionInterface(SessionInterface):
    """Server-side sessions for Flask.  *store*: a ``SyncSessionStore``; by default one is
    made on first use from the SESSION_* environment (``memorydb_sessions.environment``), so
    an app starts, and answers routes that do not use the session, without the store."""

    def __init__(self, store: SyncSessionStore | None = None) -> None:
        self._store = store
        self._lock = threading.Lock()

    @property
    def store(self) -> SyncSessionStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = SyncSessionStore(store_config_from_env(), policy_from_env())
        return self._store

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """A core call; the store being away becomes Flask's 503 with Retry-After."""
        try:
            return getattr(self.store, name)(*args, **kwargs)
        except StoreUnavailable as exc:
            raise _unavailable(exc) from exc

    # ---------------------------------------------------------------- Flask's hooks
    def open_session(self, app: Flask, request: Request) -> MemoryDBSession:
        raw = request.cookies.get(self.get_cookie_name(app))
        return MemoryDBSession(self, raw if raw and tokens.is_token(raw) else None)

    def save_session(self, app: Flask, session: MemoryDBSession, response: Response) -> None:  # type: ignore[override]
        try:
            self._save(app, session, response)
        except StoreUnavailable:
            # save_session runs after the view, where Flask would turn an error into a 500:
            # answer 503 instead, and set no cookie (nothing was acknowledged).
            response.status_code = 503
            response.set_data(b"the session store is unavailable; retry shortly\n")
            response.mimetype = "text/plain"
            response.headers["Retry-After"] = str(RETRY_AFTER_S)
            response.headers.remove("Set-Cookie")

    def _save(self, app: Flask, session: MemoryDBSession, response: Response) -> None:
        if session.loaded and session.accessed:
            response.vary.add("Cookie")
        if session.modified:
            data = dict(session._loaded())
            if not data:
                if session.token is not None:
                    self.store.delete(session.token)
                    session.token, session.cookie_changed = None, True
            elif session.token is not None:
                updated = self.store.update_data(session.token, data)
                if updated is None:  # ended meanwhile: never brought back
                    session.token, session.cookie_changed = None, True
            else:
                created = self.store.create(data)
                session.token, session.created_ms, session.cookie_changed = created.token, created.created_ms, True
        if session.token is None:
            if session.had_cookie and session.cookie_changed:
                response.delete_cookie(self.get_cookie_name(app), domain=self.get_cookie_domain(app),
                                       path=self.get_cookie_path(app), secure=self.get_cookie_secure(app),
                                       httponly=self.get_cookie_httponly(app),
                                       samesite=self.get_cookie_samesite(app),
                                       partitioned=self.get_cookie_partitioned(app))
            return
        refresh = session.loaded and session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]
        if session.cookie_changed or refresh:
            response.set_cookie(self.get_cookie_name(app), session.token, expires=self._expires(app, session),
                                domain=self.get_cookie_domain(app), path=self.get_cookie_path(app),
                                secure=self.get_cookie_secure(app), httponly=self.get_cookie_httponly(app),
                                samesite=self.get_cookie_samesite(app), partitioned=self.get_cookie_partitioned(app))

    def _expires(self, app: Flask, session: MemoryDBSession) -> datetime | None:
        """Flask's permanent-session expiry, never past the core's absolute end of the session."""
        if not session.permanent:
            return None
        wanted = self.get_expiration_time(app, session)
        if session.created_ms is None:
            return wanted
        policy = self.store.policy
        end = datetime.fromtimestamp(session.created_ms / 1000 + policy.absolute_lifetime, timezone.utc)
        return min(wanted, end) if wanted else end


# ------------------------------------------------------------ helpers for views
def _current() -> MemoryDBSession:
    session = current_session._get_current_object()  # type: ignore[attr-defined]
    if not isinstance(session, MemoryDBSession):
        raise RuntimeError("app.session_interface is not a MemoryDBSessionInterface")
    return session


def sign_in(user_id: str, *, authenticated_at_ms: int | None = None, methods: tuple[str, ...] = ("password",),
            attributes: dict | None = None) -> None:
    """Bind *user_id* to the current session under a NEW token (the old one ends); the data
    is kept.  *authenticated_at_ms*: when the credentials were proven, by default when this
    request began: a sign-in whose check raced "log out everywhere" is refused
    (``SignInRevoked``).  Call it after checking the password."""
    session = _current()
    data = dict(session._loaded())
    signed = session._interface.call(
        "sign_in", str(user_id), authenticated_at_ms=authenticated_at_ms or session.opened_ms, methods=methods,
        attributes=attributes, data=data, replaces=session.token)
    session._adopt(signed)
    session.modified, session.cookie_changed, session.new = False, True, False


def rotate() -> None:
    """A new token for the same session (the old one ends in the same step)."""
    session = _current()
    session._loaded()
    if session.token is None:
        return
    session._adopt(session._interface.call("rotate", session.token))
    session.cookie_changed = True


def sign_out() -> None:
    """End the current session in the store; the browser gets an empty one."""
    session = _current()
    if session.token is not None:
        session._interface.call("delete", session.token)
    session._adopt(None)
    session.cookie_changed, session.modified = True, False


def sign_out_everywhere() -> int:
    """End every session of the signed-in user (this one too) and refuse sign-ins proven
    before now.  Returns how many ended (0 when nobody is signed in)."""
    session = _current()
    session._loaded()
    if session.user_id is None:
        return 0
    n = session._interface.call("revoke_user", session.user_id)
    session._adopt(None)
    session.cookie_changed, session.modified = True, False
    return n


def end_other_sessions() -> int:
    """End the signed-in user's other sessions (after a password change)."""
    session = _current()
    session._loaded()
    if session.user_id is None or session.token is None:
        return 0
    return session._interface.call("end_other_sessions", session.user_id, keep=session.token)


def list_sessions() -> list[SessionInfo]:
    """The signed-in user's sessions (handles, times, addresses; never tokens)."""
    session = _current()
    session._loaded()
    if session.user_id is None:
        return []
    return session._interface.call("list_sessions", session.user_id, current=session.token)
