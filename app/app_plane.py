"""The application plane: a second listener, never routed by the public load balancer,
where trusted backends bind identities to sessions and act on a user's sessions.

Every request carries ``Authorization: STS-Identity <signed GetCallerIdentity>``
(``app/caller_auth.py``); the caller's IAM role must be in ``SESSION_TRUSTED_CALLER_ARNS``.
Tokens travel in JSON bodies, never in a URL, so they stay out of access logs.

Routes (all ``POST``, JSON in and out)
  /v1/sign-in                  {user_id, authenticated_at?, methods?, attributes?, data?, replaces?,
                                client_ip?, user_agent?}: a NEW session (201, with its token)
  /v1/session                  {token}: the session's full server view
  /v1/session/attributes       {token, attributes}: replace the server attributes
  /v1/session/reauthenticate   {token, methods?}: a fresh proof of identity (step-up)
  /v1/user/sessions            {user_id, current?}: the user's sessions (handles, never tokens)
  /v1/user/sessions/end        {user_id, handle}: end one of them
  /v1/user/sessions/end-others {user_id, keep}: end all but *keep* (a token)
  /v1/user/revoke              {user_id}: end every session, refuse sign-ins proven before now
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import replace

import orjson

from memorydb_sessions import (
    Conflict,
    DataTooLarge,
    Session,
    SessionLimitReached,
    SessionStore,
    SignInRevoked,
    StoreError,
    StoreUnavailable,
)

from .caller_auth import Caller, CallerRejected, CallerVerifier, sts_endpoint
from .config import ConfigError, Settings
from . import payload
from .payload import valid_user_id

MAX_BODY_BYTES = 65536
MAX_METHODS = 8
_JSON_HEADERS = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


Log = Callable[..., None]


def _no_log(level: str, message: str, **fields) -> None:
    return None


def check_settings(settings: Settings) -> None:
    """Refuse to start a plane nobody could use or that would shadow the public port."""
    if not settings.trusted_caller_arns:
        raise ConfigError("SESSION_TRUSTED_CALLER_ARNS is required when SESSION_APP_PLANE_PORT is set")
    if settings.app_plane_port == settings.http_port:
        raise ConfigError("SESSION_APP_PLANE_PORT must differ from SESSION_HTTP_PORT (the load balancer's port)")
    if settings.workers > 1:
        # uvicorn's worker supervisor runs one server per process; ECS scales by tasks instead.
        raise ConfigError("SESSION_APP_PLANE_PORT needs SESSION_WORKERS=1")
    if not (settings.sts_endpoint or settings.aws_region):
        raise ConfigError("SESSION_STS_ENDPOINT or AWS_REGION is required when SESSION_APP_PLANE_PORT is set")


class AppPlane:
    """ASGI app of the application plane. *store_provider* returns the process's
    ``SessionStore`` (the public App's, once it has started) or None before that."""

    def __init__(self, settings: Settings, store_provider: Callable[[], SessionStore | None], *,
                 verifier: CallerVerifier | None = None, log: Log = _no_log) -> None:
        self.settings = settings
        self.store_provider = store_provider
        self.verifier = verifier or CallerVerifier(
            sts_endpoint(settings.sts_endpoint, settings.aws_region), settings.app_plane_server_id,
            settings.trusted_caller_arns)
        self.log = log
        self._routes: dict[str, Callable[[SessionStore, dict], Awaitable[tuple[int, dict]]]] = {
            "/v1/sign-in": self.sign_in,
            "/v1/session": self.read,
            "/v1/session/attributes": self.update_attributes,
            "/v1/session/reauthenticate": self.reauthenticate,
            "/v1/user/sessions": self.list_sessions,
            "/v1/user/sessions/end": self.end_session,
            "/v1/user/sessions/end-others": self.end_others,
            "/v1/user/revoke": self.revoke,
        }

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":  # the public App owns the store's life
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        caller: Caller | None = None
        try:
            route = self._routes.get(scope["path"])
            if route is None:
                raise Refused(404, "no such route")
            if scope["method"] != "POST":
                raise Refused(405, "use POST")
            caller = await self.verifier.verify(_header(scope, b"authorization"))
            body = await self._json(scope, receive)
            store = self.store_provider()
            if store is None:
                raise Refused(503, "session store not ready")
            status, answer = await route(store, body)
            self.log("info", "app plane", route=scope["path"], status=status, caller=caller.role_arn)
        except CallerRejected as exc:
            status, answer = exc.status, {"error": exc.message}
            self.log("warning", "app plane caller refused", route=scope["path"], status=status, reason=exc.message)
        except Refused as exc:
            status, answer = exc.status, {"error": exc.message}
        except SessionLimitReached as exc:
            status, answer = 409, {"error": str(exc), "code": "session-limit"}
        except SignInRevoked as exc:
            status, answer = 409, {"error": str(exc), "code": "sign-in-revoked"}
        except Conflict as exc:
            status, answer = 409, {"error": str(exc), "code": "conflict"}
        except DataTooLarge as exc:
            status, answer = 413, {"error": f"data: {exc}"}
        except StoreUnavailable as exc:  # StoreFull too: 503, counted apart by the store
            status, answer = 503, {"error": f"session store unavailable: {exc}"}
        except StoreError:
            status, answer = 500, {"error": "internal error"}
            self.log("error", "app plane store error", route=scope["path"], traceback=traceback.format_exc())
        except Exception:  # noqa: BLE001 - a bug must answer 500, not drop the connection
            status, answer = 500, {"error": "internal error"}
            self.log("error", "app plane bug", route=scope["path"], traceback=traceback.format_exc())
        headers = list(_JSON_HEADERS)
        if status == 503:
            headers.append((b"retry-after", str(self.settings.retry_after_seconds).encode()))
        if status == 401:
            headers.append((b"www-authenticate", b"STS-Identity"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": orjson.dumps(answer)})

    async def _json(self, scope, receive) -> dict:
        try:
            raw = await payload.read_body(receive, MAX_BODY_BYTES)
        except payload.PayloadError as exc:
            raise Refused(exc.status, exc.message) from None
        try:
            body = orjson.loads(raw or b"{}")
        except orjson.JSONDecodeError:
            raise Refused(400, "body must be JSON") from None
        if not isinstance(body, dict):
            raise Refused(422, "body must be a JSON object")
        return body

    # ------------------------------------------------------------------ routes
    async def sign_in(self, store: SessionStore, body: dict) -> tuple[int, dict]:
        user_id = _user_id(body)
        now = time.time()
        proven = body.get("authenticated_at", now)
        if not isinstance(proven, (int, float)) or isinstance(proven, bool) or not 0 < proven <= now + 60:
            raise Refused(422, "authenticated_at: epoch seconds, not in the future")
        replaces = body.get("replaces")
        if replaces is not None and not isinstance(replaces, str):
            raise Refused(422, "replaces: a session token (string)")
        session = await store.sign_in(
            user_id, authenticated_at_ms=int(proven * 1000), methods=_methods(body), attributes=_object(body, "attributes"),
            data=_object(body, "data"), replaces=replaces, client_ip=_short(body, "client_ip", 64),
            user_agent=_short(body, "user_agent", 128))
        return 201, {"token": session.token, **self._view(store, session)}

    async def read(self, store: SessionStore, body: dict) -> tuple[int, dict]:
        session = await store.read(_token(body, "token"))
        if session is None:
            raise Refused(404, "no such session (ended or expired)")
        return 200, self._view(store, session)

    async def update_attributes(self, store: SessionStore, body: dict) -> tuple[int, dict]:
        attributes = _object(body, "attributes", required=True)
        session = await store.update_server(_token(body, "token"), lambda rec: replace(rec, attributes=attributes))
        if session is None:
            raise Refused(404, "no such session (ended or expired)")
        return 200, self._view(store, session)

    async def reauthenticate(self, store: SessionStore, body: dict) -> tuple[int, dict]:
        token = _token(body, "token")
        current = await store.read(token)
        if current is None:
            raise Refused(404, "no such session (ended or expired)")
        if current.user_id is None:
            raise Refused(409, "token: an anonymous session cannot step up: sign in instead")
        session = await store.reauthenticate(token, _methods(body))
        if session is None:
            raise Refused(404, "no such session (ended or expired)")
        return 200, self._view(store, session)

    async def list_sessions(self, store: SessionStore, body: dict) -> tuple[int, dict]:
        current = body.get("current")
        if current is not None and not isinstance(current, str):
            raise Refused(422, "current: a session token (string)")
        listed = await store.list_sessions(_user_id(body), current=current)
        return 200, {"sessions": [{
            "handle": s.handle, "created_at": s.created_at, "last_seen_at": s.last_seen_at, "client_ip": s.client_ip,
            "user_agent": s.user_agent, "authenticated_at": s.authenticated_at, "current": s.current} for s in listed]}

    async def end_session(self, store: SessionStore, body: dict) -> tuple[int, dict]:
        user_id = _user_id(body)
        handle = body.get("handle")
        if not isinstance(handle, str) or not handle:
            raise Refused(422, "handle: a session handle (string) is required")
        if not await store.end_session(user_id, handle):
            raise Refused(404, "handle: no such session of this user")
        return 200, {"ended": True}

    async def end_others(self, store: SessionStore, body: dict) -> tuple[int, dict]:
        return 200, {"ended": await store.end_other_sessions(_user_id(body), _token(body, "keep"))}

    async def revoke(self, store: SessionStore, body: dict) -> tuple[int, dict]:
        return 200, {"revoked": await store.revoke_user(_user_id(body))}

    def _view(self, store: SessionStore, session: Session) -> dict:
        rec = session.record
        return {
            "handle": session.handle, "user_id": rec.user_id, "created_at": rec.created_ms / 1000,
            "expires_at": session.expires_at(store.policy), "idle_expires_in": session.ttl_ms / 1000,
            "authenticated_at": None if rec.authenticated_at_ms is None else rec.authenticated_at_ms / 1000,
            "auth_age": session.auth_age(), "auth_methods": list(rec.auth_methods), "attributes": rec.attributes,
            "data": rec.data, "client_ip": rec.client_ip, "user_agent": rec.user_agent,
        }


# ----------------------------------------------------------------- field checks
def _header(scope, name: bytes) -> str | None:
    values = [v for k, v in scope["headers"] if k.lower() == name]
    if len(values) != 1:
        return None  # absent, or repeated (ambiguous): refused as absent
    return values[0].decode("latin-1")


def _user_id(body: dict) -> str:
    user_id = body.get("user_id")
    if not isinstance(user_id, str) or not valid_user_id(user_id):
        raise Refused(422, "user_id: 1-128 characters of A-Z a-z 0-9 . _ @ + : = -")
    return user_id


def _token(body: dict, field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise Refused(422, f"{field}: a session token (string) is required")
    return value


def _object(body: dict, field: str, *, required: bool = False) -> dict:
    value = body.get(field)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise Refused(422, f"{field}: a JSON object is required")
    if len(orjson.dumps(value)) > MAX_BODY_BYTES // 4:
        raise Refused(413, f"{field}: larger than {MAX_BODY_BYTES // 4} bytes")
    return value


def _methods(body: dict) -> tuple[str, ...]:
    methods = body.get("methods", ["password"])
    if (not isinstance(methods, list) or not 1 <= len(methods) <= MAX_METHODS
            or not all(isinstance(m, str) and 0 < len(m) <= 32 and m.isascii() for m in methods)):
        raise Refused(422, f"methods: a list of 1-{MAX_METHODS} names (ASCII, at most 32 characters)")
    return tuple(methods)


def _short(body: dict, field: str, limit: int) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        raise Refused(422, f"{field}: a printable string of at most {limit} characters")
    return value
