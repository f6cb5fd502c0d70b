"""ASGI (Starlette, FastAPI) sessions on MemoryDB / Redis Cluster: a drop-in for
``starlette.middleware.sessions.SessionMiddleware`` that keeps the data server-side.

``app.add_middleware(SessionMiddleware, secret_key=...)`` with this class instead of
Starlette's: ``request.session`` (``scope["session"]``) is the same kind of dict, marked
accessed/modified the same way, with the same cookie flags.  Differences, all on the server:

* The cookie carries only the core's token; a cookie that is not a token never reaches the
  store.  ``secret_key`` is accepted for the swap and unused (the token is unguessable).
* Loading: no store call for a request without a session cookie (health checks, first
  visits), one read when there is one.  ``request.session`` is a plain synchronous dict in
  Starlette's API, so it cannot be filled on first touch without blocking the event loop:
  the read (one round trip, a GET and PTTL pipelined) happens before the app runs.
* Saving only when the data changed (compared with what was loaded), as the core's atomic
  compare-and-set; an emptied session is deleted and its cookie cleared (Starlette's
  ``null``/1970 cookie); an empty new session creates nothing and sets no cookie.  A
  session ended meanwhile (signed out elsewhere) is not resurrected.
* ``max_age`` is capped by the core's absolute lifetime; the core's idle timeout applies.
* The store being away answers 503 with ``Retry-After`` (never a 500), from the load, the
  save, or a helper the app awaited.
* The store it makes (from the environment) is closed at lifespan shutdown.
* Helpers: ``await sign_in(request, user_id)`` (new token, old ended), ``rotate``,
  ``sign_out``, ``sign_out_everywhere``, ``end_other_sessions``, ``list_sessions``.
"""

from __future__ import annotations

import asyncio
import copy
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any, Literal

from . import tokens
from .connection import StoreClient
from .environment import policy_from_env, store_config_from_env
from .errors import StoreUnavailable
from .sessions import Session as CoreSession, SessionInfo, SessionStore

__all__ = ["SessionMiddleware", "Session", "sign_in", "rotate", "sign_out", "sign_out_everywhere",
           "end_other_sessions", "list_sessions"]

STATE_KEY = "memorydb_sessions"  # scope key of the session's server-side state
RETRY_AFTER_S = 1
_UNAVAILABLE_BODY = b"the session store is unavailable; retry shortly\n"


class Session(dict[str, Any]):
    """``request.session``: Starlette's ``Session`` semantics (accessed / modified marks)."""

    accessed: bool = False
    modified: bool = False

    def mark_accessed(self) -> None:
        self.accessed = True

    def mark_modified(self) -> None:
        self.accessed = True
        self.modified = True

    def __setitem__(self, key: str, value: Any) -> None:
        self.mark_modified()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.mark_modified()
        super().__delitem__(key)

    def clear(self) -> None:
        self.mark_modified()
        super().clear()

    def pop(self, key: str, *args: Any) -> Any:
        if key in self:
            self.mark_modified()
        return super().pop(key, *args)

    def popitem(self) -> tuple[str, Any]:
        item = super().popitem()
        self.mark_modified()
        return item

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self.mark_modified()
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self.mark_modified()
        super().update(*args, **kwargs)

    def __ior__(self, other: Any, /) -> "Session":  # type: ignore[override,misc]
        self.mark_modified()
        return super().__ior__(other)


@dataclass
class _State:
    store: SessionStore
    token: str | None  # the store's session, None when there is none yet
    saved: dict  # the data as the store has it (to save only changes)
    user_id: str | None = None
    created_ms: int | None = None
    had_cookie: bool = False
    cookie_changed: bool = False
    opened_ms: int = 0

    def adopt(self, scope: dict, session: CoreSession | None) -> None:
        if session is None:
            self.cookie_changed = self.cookie_changed or self.token is not None
            self.token, self.user_id, self.created_ms, self.saved = None, None, None, {}
            _refill(scope, {})
        else:
            self.token, self.user_id, self.created_ms = session.token, session.user_id, session.created_ms
            self.saved = copy.deepcopy(session.data)
            _refill(scope, copy.deepcopy(session.data))


def _refill(scope: dict, data: dict) -> None:
    """New contents in the same ``request.session`` object (views may hold a reference)."""
    session = scope.get("session")
    if not isinstance(session, Session):
        scope["session"] = Session(data)
        return
    dict.clear(session)
    dict.update(session, data)


class SessionMiddleware:
    def __init__(self, app, secret_key: Any = None, session_cookie: str = "session",
                 max_age: int | None = 14 * 24 * 60 * 60, path: str = "/",
                 same_site: Literal["lax", "strict", "none"] = "lax", https_only: bool = False,
                 domain: str | None = None, partitioned: bool = False, *, store: SessionStore | None = None) -> None:
        """Starlette's arguments; *store*: a ``SessionStore`` (by default one is made on first
        use from the SESSION_* environment, ``memorydb_sessions.environment``)."""
        if same_site not in ("lax", "strict", "none"):
            raise ValueError(f"same_site must be 'lax', 'strict' or 'none', got {same_site!r}")
        if max_age is not None and max_age < 1:
            raise ValueError(f"max_age must be at least 1 second or None, got {max_age!r}")
        self.app = app
        self.session_cookie = session_cookie
        self.max_age = max_age
        self.path = path
        self.security_flags = "httponly; samesite=" + same_site
        if https_only:
            self.security_flags += "; secure"
        if domain is not None:
            self.security_flags += f"; domain={domain}"
        if partitioned:
            self.security_flags += "; partitioned"
        self._store = store
        self._owns_store = store is None
        self._store_lock = asyncio.Lock()

    async def store(self) -> SessionStore:
        if self._store is None:
            async with self._store_lock:
                if self._store is None:
                    client = StoreClient(store_config_from_env())
                    try:
                        await client.initialize()
                    except Exception:  # noqa: BLE001 - a store that is down must not stop the app
                        pass
                    self._store = SessionStore(client, policy_from_env())
        return self._store

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._closing_on_shutdown(send))
            return
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw = _cookie(scope, self.session_cookie)
        token = raw if raw and tokens.is_token(raw) else None
        store = await self.store()
        state = _State(store=store, token=None, saved={}, had_cookie=raw is not None, opened_ms=int(time.time() * 1000))
        scope[STATE_KEY] = state
        scope["session"] = Session()
        if token is not None:
            try:
                session = await store.read(token)
            except StoreUnavailable:
                await _answer_unavailable(scope, send)
                return
            state.token = token
            state.adopt(scope, session)
        elif raw is not None:
            state.cookie_changed = True  # not ours: replaced (or cleared) like a bad signature

        failed = started = False

        async def send_wrapper(message) -> None:
            nonlocal failed, started
            if message["type"] == "http.response.start":
                started = True
                try:
                    cookie = await self._save(scope, state)
                except StoreUnavailable:
                    failed = True
                    await _send_unavailable(send)
                    return
                headers = list(message.get("headers", []))
                if scope["session"].accessed:
                    headers.append((b"vary", b"Cookie"))
                if cookie is not None:
                    headers.append((b"set-cookie", cookie.encode("latin-1")))
                message = {**message, "headers": headers}
            elif failed:  # the app's body of a response already answered 503
                return
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except StoreUnavailable:
            # From a helper (sign_in, rotate...) in the app: Starlette's error middleware sits
            # outside ours and would answer 500.
            if started:
                raise
            await _answer_unavailable(scope, send)

    def _closing_on_shutdown(self, send):
        """Close the connections of a store this middleware made when the server shuts down."""
        async def send_lifespan(message) -> None:
            if message["type"] == "lifespan.shutdown.complete" and self._owns_store and self._store is not None:
                store, self._store = self._store, None
                await store.client.aclose()
            await send(message)

        return send_lifespan

    async def _save(self, scope: dict, state: _State) -> str | None:
        """Write what changed; the Set-Cookie value to send, if any."""
        session: Session = scope["session"]
        data = dict(session)
        if data != state.saved:
            if not data:
                if state.token is not None:
                    await state.store.delete(state.token)
                    state.adopt(scope, None)
            elif state.token is not None:
                updated = await state.store.update_data(state.token, data)
                if updated is None:  # ended meanwhile (signed out elsewhere): never brought back
                    state.adopt(scope, None)
                else:
                    state.saved = copy.deepcopy(data)
            else:
                created = await state.store.create(data)
                state.token, state.created_ms, state.saved = created.token, created.created_ms, copy.deepcopy(data)
                state.cookie_changed = True
        if state.token is not None and (state.cookie_changed or session.modified):
            return self._cookie(state)
        if state.token is None and state.had_cookie and (state.cookie_changed or session.modified):
            return (f"{self.session_cookie}=null; path={self.path}; expires=Thu, 01 Jan 1970 00:00:00 GMT; "
                    f"{self.security_flags}")
        return None

    def _cookie(self, state: _State) -> str:
        max_age = self.max_age
        if state.created_ms is not None:
            left = int(state.created_ms / 1000 + state.store.policy.absolute_lifetime - time.time())
            max_age = max(1, left if max_age is None else min(max_age, left)) if max_age is not None else None
        age = f"Max-Age={max_age}; " if max_age is not None else ""
        return f"{self.session_cookie}={state.token}; path={self.path}; {age}{self.security_flags}"


def _cookie(scope, name: str) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"cookie":
            jar = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed header is no session
                continue
            if name in jar:
                return jar[name].value
    return None


async def _send_unavailable(send) -> None:
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(_UNAVAILABLE_BODY)).encode()),
        (b"retry-after", str(RETRY_AFTER_S).encode()), (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": _UNAVAILABLE_BODY})


async def _answer_unavailable(scope, send) -> None:
    if scope["type"] == "http":
        await _send_unavailable(send)
    else:  # a websocket handshake: refused (close before accept answers 403 in servers)
        await send({"type": "websocket.close", "code": 1013})


# ------------------------------------------------------------ helpers for endpoints
def _state(request) -> _State:
    scope = request.scope if hasattr(request, "scope") else request
    state = scope.get(STATE_KEY)
    if state is None:
        raise RuntimeError("memorydb_sessions.asgi.SessionMiddleware is not installed")
    return state


def _scope(request) -> dict:
    return request.scope if hasattr(request, "scope") else request


async def sign_in(request, user_id: str, *, authenticated_at_ms: int | None = None,
                  methods: tuple[str, ...] = ("password",), attributes: dict | None = None) -> None:
    """Bind *user_id* to the session under a NEW token (the old one ends), keeping the data.
    *authenticated_at_ms* defaults to when the request began: a sign-in whose password check
    raced "log out everywhere" is refused (``SignInRevoked``).  Raises ``StoreUnavailable``."""
    state, scope = _state(request), _scope(request)
    signed = await state.store.sign_in(str(user_id), authenticated_at_ms=authenticated_at_ms or state.opened_ms,
                                       methods=methods, attributes=attributes, data=dict(scope["session"]),
                                       replaces=state.token)
    state.adopt(scope, signed)
    state.cookie_changed = True


async def rotate(request) -> None:
    """A new token for the same session (the old one ends in the same step)."""
    state, scope = _state(request), _scope(request)
    if state.token is None:
        return
    data = dict(scope["session"])
    state.adopt(scope, await state.store.rotate(state.token))
    state.cookie_changed = True
    if state.token is not None:
        scope["session"].update(data)  # unsaved changes of this request are kept (saved at the end)


async def sign_out(request) -> None:
    """End this session in the store; the browser's cookie is cleared."""
    state, scope = _state(request), _scope(request)
    if state.token is not None:
        await state.store.delete(state.token)
    state.adopt(scope, None)


async def sign_out_everywhere(request) -> int:
    """End every session of the signed-in user (this one too); refuse sign-ins proven before now."""
    state, scope = _state(request), _scope(request)
    if state.user_id is None:
        return 0
    n = await state.store.revoke_user(state.user_id)
    state.adopt(scope, None)
    return n


async def end_other_sessions(request) -> int:
    state = _state(request)
    if state.user_id is None or state.token is None:
        return 0
    return await state.store.end_other_sessions(state.user_id, keep=state.token)


async def list_sessions(request) -> list[SessionInfo]:
    state = _state(request)
    if state.user_id is None:
        return []
    return await state.store.list_sessions(state.user_id, current=state.token)


def user_id(request) -> str | None:
    """The user the session is bound to by ``sign_in`` (server-side, not in the data)."""
    return _state(request).user_id
