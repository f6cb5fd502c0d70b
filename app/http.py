"""The public HTTP API (the browser's plane) as a lean ASGI application (no framework:
every microsecond on the session read path counts, and the routes are few).

A browser may read its own session, change its own client data, rotate and end it, and
act on its own user's sessions once signed in. Nothing here lets a request claim an
identity: sign-in proves one against the user directory (``app/users.py``), and trusted
backends bind identities on the application plane (``app/app_plane.py``). docs/security.md.

Routes
  GET  /healthz                    liveness, touches nothing external
  GET  /readyz                     one round trip to the store; 503 when unreachable or draining
  POST /api/session                a new anonymous session {"data": {...}}; 201 + cookie (rate-limited)
  GET  /api/session                read; 401 when absent/expired
  PATCH /api/session               JSON Merge Patch of the client data, atomic
  DELETE /api/session              end it + clear the cookie; 204
  POST /api/session/rotate         new token, same session
  POST /api/sign-in                {"username", "password"}: a NEW signed-in session (throttled)
  POST /api/step-up                {"password"}: fresh proof of identity on this session
  GET  /api/sessions               my sessions (handles, never tokens)
  DELETE /api/sessions/others      end my other sessions (needs a recent sign-in)
  DELETE /api/sessions/{handle}    end one of my sessions (needs a recent sign-in)
  DELETE /api/users/{id}/sessions  sign out everywhere: only my own user id or "me" (needs a recent sign-in)
  GET  /                           the reference application's page (static: GET changes nothing)
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import os
import time
import traceback

import orjson

from memorydb_sessions import (
    Conflict,
    DataTooLarge,
    Session,
    SessionLimitReached,
    SessionStore,
    SignInRevoked,
    StoreError,
    StoreFull,
    StoreUnavailable,
)

from . import cookies, pages, payload, requests
from .config import Settings
from .observability import Observability, redact
from .store import open_store
from .users import Directory

JSON = b"application/json"
MAX_HEADER_BYTES = 16384  # ALB forwards up to 16 KiB per header line

_BASE_HEADERS = [(b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]


_RID_PREFIX = os.urandom(6).hex()
_rid_counter = itertools.count(1)


def _next_request_id() -> str:
    """Unique per process run: a random prefix and a counter (no syscall)."""
    return f"{_RID_PREFIX}-{next(_rid_counter):x}"


class HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: list | None = None, extra: dict | None = None) -> None:
        self.status = status
        self.message = message
        self.headers = headers or []
        self.extra = extra or {}


class Request:
    __slots__ = ("scope", "receive", "method", "path", "headers", "secure", "request_id", "route", "_ip")

    def __init__(self, scope, receive) -> None:
        self.scope = scope
        self.receive = receive
        self.method = scope["method"]
        self.path = scope["path"]
        h: dict[bytes, bytes] = {}
        total = 0
        for k, v in scope["headers"]:
            total += len(k) + len(v)
            if k in h:
                # Repeated header: cookies join with "; ", the rest with ", ".
                h[k] = h[k] + (b"; " if k == b"cookie" else b", ") + v
            else:
                h[k] = v
        if total > MAX_HEADER_BYTES * 4:
            raise HTTPError(431, "request headers too large")
        self.headers = h
        self.secure = cookies.is_https(scope.get("scheme", "http"), h.get(b"x-forwarded-proto"))
        rid = h.get(b"x-request-id") or b""
        if 0 < len(rid) <= 128 and rid.isascii() and rid.replace(b"-", b"").isalnum():
            self.request_id = rid.decode()
        else:
            self.request_id = _next_request_id()
        self.route = "unknown"
        self._ip: str | None = None

    def token(self) -> str | None:
        header = self.headers.get(b"cookie")
        if header is not None and len(header) > cookies.MAX_COOKIE_HEADER:
            raise HTTPError(431, "Cookie header too large")
        return cookies.session_token_from(header, self.secure)

    def client_ip(self, trusted_hops: int) -> str:
        if self._ip is None:
            self._ip = requests.client_ip(self.headers, self.scope.get("client"), trusted_hops)
        return self._ip

    async def body(self, limit: int) -> bytes:
        return await payload.read_body(self.receive, limit, self.headers.get(b"content-length"))


class App:
    """ASGI entry point.  One instance per process."""

    def __init__(
        self, settings: Settings, *, store: SessionStore | None = None, log_requests: bool = True,
        handle_signals: bool = True,
    ) -> None:
        self.handle_signals = handle_signals
        self.settings = settings
        self.obs = Observability(settings.environment, settings.instance_name, log_requests=log_requests,
                                 sample_rate=settings.request_log_sample_rate, slow_ms=settings.slow_request_ms)
        self.store: SessionStore | None = store
        self.directory: Directory | None = None
        self.draining = False
        self._flusher: asyncio.Task | None = None
        self._extra = [(b"x-served-by", settings.instance_name.encode("latin-1", "replace"))] if settings.served_by_header else []
        # HSTS only on responses to HTTPS requests: browsers ignore it over HTTP (RFC 6797 8.1).
        self._hsts = ([(b"strict-transport-security", b"max-age=%d; includeSubDomains" % settings.hsts_max_age)]
                      if settings.hsts_max_age else [])
        self._routes = {
            "/healthz": self.healthz,
            "/readyz": self.readyz,
            "/api/session": self.session,
            "/api/session/rotate": self.rotate,
            "/api/sessions": self.my_sessions,
            "/api/sessions/others": self.end_others,
            "/": self.index,
            **{path: self.static for path in pages.STATIC},
        }
        if settings.user_directory:
            self._routes["/api/sign-in"] = self.sign_in
            self._routes["/api/step-up"] = self.step_up

    # --------------------------------------------------------- lifecycle
    async def startup(self) -> None:
        self.obs.attach(asyncio.get_running_loop())
        if self.store is None:
            self.store = open_store(self.settings, self.obs)
        self.directory = Directory(self.store.client.cluster)
        try:
            # Learn the slot map now so the first requests do not wait for it;
            # a store that is down must not keep the service from starting.
            async with asyncio.timeout(self.settings.store_timeout * 3):
                await self.store.client.initialize()
        except Exception as exc:  # noqa: BLE001
            self.obs.log("warning", "store not reachable at start", error=type(exc).__name__)
        self._flusher = asyncio.get_running_loop().create_task(self._flush_loop())
        # Everything allocated so far lives for the whole process: move it out of
        # the collector's way so full collections (latency spikes) stay cheap.
        gc.collect()
        gc.freeze()
        if self.handle_signals:
            from .server import chain_sigterm

            chain_sigterm(self.begin_drain)
        self.obs.log("info", "started", environment=self.settings.environment, pid=os.getpid())

    async def shutdown(self) -> None:
        self.draining = True
        if self._flusher is not None:
            self._flusher.cancel()
        self.obs.flush()
        if self.store is not None:
            try:
                await self.store.client.aclose()
            except Exception:  # noqa: BLE001 - closing a broken pool must not fail shutdown
                pass
        self.obs.log("info", "stopped", pid=os.getpid())
        self.obs.detach()

    def begin_drain(self) -> None:
        """SIGTERM: readiness goes false at once; in-flight requests finish."""
        self.draining = True

    async def _flush_loop(self) -> None:
        from .observability import FLUSH_SECONDS

        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            self.obs.flush()

    # -------------------------------------------------------------- ASGI
    async def __call__(self, scope, receive, send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.handle(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive, send) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # noqa: BLE001
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def handle(self, scope, receive, send) -> None:
        t0 = time.perf_counter()
        req = None
        try:
            req = Request(scope, receive)
            if self.settings.require_https:
                req.secure = True  # the listener is HTTPS; port 80 only redirects
            status, headers, body = await self.dispatch(req)
        except Exception as exc:  # noqa: BLE001 - every failure becomes an answer
            status, headers, body = self._error_response(exc, req)
        rid = req.request_id if req else _next_request_id()
        out = [*headers, *_BASE_HEADERS, (b"x-request-id", rid.encode()), *self._extra]
        if req.secure if req else self.settings.require_https:
            out += self._hsts
        out.append((b"content-length", b"%d" % len(body)))
        if scope["method"] == "HEAD":
            body = b""
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body})
        self.obs.request(
            request_id=rid,
            method=scope["method"],
            route=req.route if req else "unknown",
            status=status,
            latency_ms=(time.perf_counter() - t0) * 1000,
        )

    def _error_response(self, exc: Exception, req: Request | None):
        """Each failure its own answer: the client's mistakes are 4xx, the store being away
        or full is 503 (full has its own metric), a bug is 500 and logged."""
        if isinstance(exc, HTTPError):
            return exc.status, [(b"content-type", JSON), *exc.headers], orjson.dumps({"error": exc.message, **exc.extra})
        if isinstance(exc, payload.PayloadError):
            return exc.status, [(b"content-type", JSON)], orjson.dumps({"error": exc.message})
        if isinstance(exc, DataTooLarge):
            return 413, [(b"content-type", JSON)], orjson.dumps({"error": str(exc)})
        if isinstance(exc, StoreUnavailable):  # StoreFull too: retry later, elsewhere nothing helps
            message = b"session store full" if isinstance(exc, StoreFull) else b"session store unavailable"
            return 503, [(b"content-type", JSON), (b"retry-after", b"%d" % self.settings.retry_after_seconds)], \
                b'{"error":"' + message + b'"}'
        if isinstance(exc, Conflict):
            return 409, [(b"content-type", JSON), (b"retry-after", b"1")], b'{"error":"too many concurrent updates, retry"}'
        if isinstance(exc, SessionLimitReached):
            return 409, [(b"content-type", JSON)], orjson.dumps(
                {"error": f"{exc}: end one of your sessions first", "limit": self.settings.max_sessions_per_user})
        if isinstance(exc, SignInRevoked):
            return 409, [(b"content-type", JSON)], orjson.dumps({"error": f"{exc}: sign in again"})
        level_message = "store error (a bug: the store refused a command)" if isinstance(exc, StoreError) else "unhandled exception"
        self.obs.log("error", level_message, error=type(exc).__name__, route=req.route if req else "unknown",
                     trace=redact(traceback.format_exc(limit=8)))
        return 500, [(b"content-type", JSON)], b'{"error":"internal error"}'

    async def dispatch(self, req: Request):
        handler = self._routes.get(req.path)
        if handler is None:
            handler = self._parametrized(req)
        else:
            req.route = req.path
        problem = requests.forgery_problem(req.method, req.headers, requests.own_origin(req.headers, req.secure),
                                           self.settings.allowed_origins)
        if problem is not None:
            raise HTTPError(403, problem)
        return await handler(req)

    def _parametrized(self, req: Request):
        path = req.path
        if path.startswith("/api/users/") and path.endswith("/sessions"):
            req.route = "/api/users/{id}/sessions"
            user = path[len("/api/users/"): -len("/sessions")]
            return lambda r: self.sign_out_everywhere(r, user)
        if path.startswith("/api/sessions/"):
            req.route = "/api/sessions/{handle}"
            handle = path[len("/api/sessions/"):]
            return lambda r: self.end_one(r, handle)
        req.route = "unmatched"
        raise HTTPError(404, "not found")

    # ----------------------------------------------------------- helpers
    @staticmethod
    def _method_not_allowed(allowed: bytes):
        raise HTTPError(405, "method not allowed", [(b"allow", allowed)])

    def _json(self, status: int, obj, extra: list | None = None):
        headers = [(b"content-type", JSON)]
        if extra:
            headers.extend(extra)
        return status, headers, orjson.dumps(obj)

    def _set_cookie(self, req: Request, sess: Session) -> tuple[bytes, bytes]:
        max_age = max(0, int(sess.expires_at(self.store.policy) - time.time())) if self.settings.cookie_persistent else None
        return b"set-cookie", cookies.set_cookie(sess.token, req.secure, max_age)

    def _gone(self, req: Request, message: str = "no session") -> HTTPError:
        return HTTPError(401, message, [(b"set-cookie", cookies.clear_cookie(req.secure))])

    def _public(self, sess: Session) -> dict:
        policy = self.store.policy
        return {
            "data": sess.data,
            "user_id": sess.user_id,
            "authenticated": sess.user_id is not None,
            "auth_methods": list(sess.record.auth_methods),
            "auth_age": None if sess.user_id is None else int(sess.auth_age() or 0),
            "reauth_max_age": self.settings.reauth_max_age,
            "handle": sess.handle,
            "created_at": sess.created_ms / 1000,
            "absolute_expiry": sess.expires_at(policy),
            "idle_timeout": policy.idle_timeout,
        }

    async def _current(self, req: Request) -> Session:
        token = req.token()
        if token is None:
            raise HTTPError(401, "no session")
        sess = await self.store.read(token)
        if sess is None:
            raise self._gone(req)
        return sess

    async def _signed_in(self, req: Request, *, recent: bool = False) -> Session:
        """The caller's signed-in session; with *recent*, proven within reauth_max_age
        (ASVS 7.5.x: re-authenticate before acting on other sessions)."""
        sess = await self._current(req)
        if sess.user_id is None:
            raise HTTPError(401, "sign in first")
        if recent and (sess.auth_age() or 0) > self.settings.reauth_max_age:
            raise HTTPError(403, "re-authentication required (POST /api/step-up)", extra={"reauthenticate": True})
        return sess

    async def _body(self, req: Request) -> bytes:
        payload.check_content_type(req.headers.get(b"content-type"))
        return await req.body(self.settings.max_payload_bytes)

    async def _limit(self, scope: str, subject: str, limit: int, window: int, *, count: bool = True) -> None:
        if not await self.store.hit(scope, subject, limit=limit, window_seconds=window, count=count):
            self.obs.incr("RateLimited")
            raise HTTPError(429, "too many requests from this client, retry later", [(b"retry-after", b"%d" % window)])

    # ----------------------------------------------------------- handlers
    async def healthz(self, req: Request):
        if req.method not in ("GET", "HEAD"):
            self._method_not_allowed(b"GET, HEAD")
        return 200, [(b"content-type", JSON)], b'{"status":"ok"}'

    async def readyz(self, req: Request):
        if req.method not in ("GET", "HEAD"):
            self._method_not_allowed(b"GET, HEAD")
        if self.draining:
            return 503, [(b"content-type", JSON), (b"retry-after", b"5")], b'{"status":"draining"}'
        await self.store.ping()
        return 200, [(b"content-type", JSON)], b'{"status":"ready"}'

    async def session(self, req: Request):
        m = req.method
        if m == "GET" or m == "HEAD":
            return self._json(200, self._public(await self._current(req)))
        if m == "POST":
            return await self._create(req)
        if m == "PATCH":
            token = req.token()
            if token is None:
                raise HTTPError(401, "no session")
            patch = payload.parse_object(await self._body(req), max_bytes=self.settings.max_payload_bytes,
                                         max_depth=self.settings.max_depth, max_keys=self.settings.max_keys)
            sess = await self.store.update_data(token, lambda data: self._merged(data, patch))
            if sess is None:
                raise self._gone(req)
            return self._json(200, self._public(sess))
        if m == "DELETE":
            token = req.token()
            if token is not None:
                await self.store.delete(token)
            return 204, [(b"set-cookie", cookies.clear_cookie(req.secure))], b""
        self._method_not_allowed(b"GET, HEAD, POST, PATCH, DELETE")

    def _merged(self, data: dict, patch: dict) -> dict:
        merged = payload.merge_patch(data, patch)
        payload.check_limits(merged, self.settings.max_depth, self.settings.max_keys)
        return merged

    async def _create(self, req: Request):
        has_body = b"content-type" in req.headers or req.headers.get(b"content-length", b"0") != b"0" \
            or b"transfer-encoding" in req.headers
        data = payload.parse_create(await self._body(req) if has_body else b"",
                                    max_bytes=self.settings.max_payload_bytes, max_depth=self.settings.max_depth,
                                    max_keys=self.settings.max_keys)
        ip = req.client_ip(self.settings.trusted_proxy_hops)
        await self._limit("create", ip, self.settings.create_rate_per_minute, 60)
        sess = await self.store.create(data, client_ip=ip, user_agent=requests.agent_summary(req.headers.get(b"user-agent")))
        return self._json(201, self._public(sess), [self._set_cookie(req, sess)])

    async def rotate(self, req: Request):
        if req.method != "POST":
            self._method_not_allowed(b"POST")
        token = req.token()
        sess = await self.store.rotate(token) if token else None
        if sess is None:
            raise self._gone(req)
        return self._json(200, self._public(sess), [self._set_cookie(req, sess)])

    async def _check_password(self, req: Request, username: str, password: str) -> bool:
        """Throttled per account and per client; the same answer for an unknown user and a
        wrong password (ASVS 6.3.x)."""
        s = self.settings
        ip = req.client_ip(s.trusted_proxy_hops)
        await self._limit("signin-client", ip, s.signin_failures_per_client, s.signin_window_seconds, count=False)
        await self._limit("signin-account", username, s.signin_failures_per_account, s.signin_window_seconds, count=False)
        if await self.directory.verify(username, password):
            await self.store.clear_hits("signin-account", username)
            return True
        self.obs.incr("SignInFailures")
        await self.store.hit("signin-client", ip, limit=s.signin_failures_per_client, window_seconds=s.signin_window_seconds)
        await self.store.hit("signin-account", username, limit=s.signin_failures_per_account,
                             window_seconds=s.signin_window_seconds)
        return False

    async def sign_in(self, req: Request):
        if req.method != "POST":
            self._method_not_allowed(b"POST")
        fields = payload.parse_fields(await self._body(req), {"username": 64, "password": 256}, max_bytes=2048)
        username = fields["username"].strip().lower()
        proven_at = int(time.time() * 1000)  # before the check: a revocation during it wins
        if not await self._check_password(req, username, fields["password"]):
            raise HTTPError(401, "wrong user name or password")
        token = req.token()
        previous = await self.store.read(token) if token else None
        # An anonymous session's client data (a cart) follows the user; a session of
        # someone else is simply ended.
        data = previous.data if previous is not None and previous.user_id is None else {}
        ip = req.client_ip(self.settings.trusted_proxy_hops)
        sess = await self.store.sign_in(username, authenticated_at_ms=proven_at, methods=("password",), data=data,
                                        replaces=token, client_ip=ip,
                                        user_agent=requests.agent_summary(req.headers.get(b"user-agent")))
        return self._json(201, self._public(sess), [self._set_cookie(req, sess)])

    async def step_up(self, req: Request):
        if req.method != "POST":
            self._method_not_allowed(b"POST")
        fields = payload.parse_fields(await self._body(req), {"password": 256}, max_bytes=1024)
        sess = await self._signed_in(req)
        if not await self._check_password(req, sess.user_id, fields["password"]):
            raise HTTPError(401, "wrong password")
        sess = await self.store.reauthenticate(sess.token, ("password",))
        if sess is None:
            raise self._gone(req)
        return self._json(200, self._public(sess))

    async def my_sessions(self, req: Request):
        if req.method not in ("GET", "HEAD"):
            self._method_not_allowed(b"GET, HEAD")
        sess = await self._signed_in(req)
        listed = await self.store.list_sessions(sess.user_id, current=sess.token)
        return self._json(200, {"sessions": [{
            "handle": i.handle, "current": i.current, "created_at": int(i.created_at),
            # Coarse on purpose: the store knows it to within the idle slide.
            "last_seen_at": int(i.last_seen_at) // 60 * 60, "client_ip": i.client_ip, "user_agent": i.user_agent,
            "authenticated_at": None if i.authenticated_at is None else int(i.authenticated_at),
        } for i in listed], "limit": self.settings.max_sessions_per_user})

    async def end_others(self, req: Request):
        if req.method != "DELETE":
            self._method_not_allowed(b"DELETE")
        sess = await self._signed_in(req, recent=True)
        return self._json(200, {"ended": await self.store.end_other_sessions(sess.user_id, sess.token)})

    async def end_one(self, req: Request, handle: str):
        if req.method != "DELETE":
            self._method_not_allowed(b"DELETE")
        sess = await self._signed_in(req, recent=True)
        if handle == sess.handle:
            raise HTTPError(422, "that is this session: sign out instead (DELETE /api/session)")
        if not await self.store.end_session(sess.user_id, handle):
            raise HTTPError(404, "no such session of yours")
        return 204, [], b""

    async def sign_out_everywhere(self, req: Request, user_id: str):
        if req.method != "DELETE":
            self._method_not_allowed(b"DELETE")
        if not payload.valid_user_id(user_id):
            raise HTTPError(404, "not found")
        sess = await self._signed_in(req, recent=True)
        if user_id not in ("me", sess.user_id):
            raise HTTPError(403, "a session may only revoke its own user's sessions")
        revoked = await self.store.revoke_user(sess.user_id)
        return self._json(200, {"revoked": revoked}, [(b"set-cookie", cookies.clear_cookie(req.secure))])

    async def index(self, req: Request):
        if req.method not in ("GET", "HEAD"):
            self._method_not_allowed(b"GET, HEAD")
        return 200, pages.html_headers(), pages.INDEX

    async def static(self, req: Request):
        if req.method not in ("GET", "HEAD"):
            self._method_not_allowed(b"GET, HEAD")
        content_type, body = pages.STATIC[req.path]
        return 200, [(b"content-type", content_type)], body


def create_app() -> App:
    """Factory for ``uvicorn --factory app.http:create_app``."""
    return App(Settings.from_env())
