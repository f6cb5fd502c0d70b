"""The HTTP API as a lean ASGI application (no framework: every microsecond on
the session read path counts, and the routes are few).

Routes
  GET  /healthz                    liveness, touches nothing external
  GET  /readyz                     one round trip to the store; 503 when unreachable or draining
  POST /api/session                create from {"data": {...}, "user_id": "..."}; 201 + cookie
  GET  /api/session                read + slide idle expiry (GETEX); 401 when absent/expired
  PATCH /api/session               JSON Merge Patch of data, atomic (CAS); 401 when absent
  DELETE /api/session              destroy + clear cookie; 204
  POST /api/session/rotate         new id, same data; old id dies
  DELETE /api/users/{id}/sessions  revoke all sessions of a user (caller's own user only)
  GET  /                           small HTML page (visits, age, instance)
"""

from __future__ import annotations

import asyncio
import gc
import html
import itertools
import os
import time
import traceback

import orjson

from . import cookies, payload
from .config import Settings
from .observability import Observability, redact
from .sessions import Conflict, Session, SessionService
from .store import Store, StoreUnavailable

JSON = b"application/json"
MAX_HEADER_BYTES = 16384  # ALB forwards up to 16 KiB per header line

_BASE_HEADERS = [(b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]


_RID_PREFIX = os.urandom(6).hex()
_rid_counter = itertools.count(1)


def _next_request_id() -> str:
    """Unique per process run: a random prefix and a counter (no syscall)."""
    return f"{_RID_PREFIX}-{next(_rid_counter):x}"


class HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: list | None = None) -> None:
        self.status = status
        self.message = message
        self.headers = headers or []


class Request:
    __slots__ = ("scope", "receive", "method", "path", "headers", "secure", "request_id", "route")

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

    def session_id(self) -> str | None:
        header = self.headers.get(b"cookie")
        if header is not None and len(header) > cookies.MAX_COOKIE_HEADER:
            raise HTTPError(431, "Cookie header too large")
        return cookies.session_id_from(header, self.secure)

    async def body(self, limit: int) -> bytes:
        cl = self.headers.get(b"content-length")
        if cl is not None:
            try:
                n = int(cl)
            except ValueError:
                raise HTTPError(400, "bad Content-Length") from None
            if n > limit:
                raise HTTPError(413, f"payload larger than {limit} bytes")
        chunks = []
        size = 0
        while True:
            msg = await self.receive()
            if msg["type"] == "http.disconnect":
                raise HTTPError(400, "client went away")
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise HTTPError(413, f"payload larger than {limit} bytes")
            chunks.append(chunk)
            if not msg.get("more_body", False):
                return b"".join(chunks)


class App:
    """ASGI entry point.  One instance per process."""

    def __init__(
        self, settings: Settings, *, store: Store | None = None, log_requests: bool = True, handle_signals: bool = True
    ) -> None:
        self.handle_signals = handle_signals
        self.settings = settings
        self.obs = Observability(settings.environment, settings.instance_name, log_requests=log_requests,
                                 sample_rate=settings.request_log_sample_rate, slow_ms=settings.slow_request_ms)
        self._store = store
        self.sessions: SessionService | None = None
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
            "/": self.index,
        }

    # --------------------------------------------------------- lifecycle
    async def startup(self) -> None:
        self.obs.attach(asyncio.get_running_loop())
        if self.sessions is None:
            if self._store is None:
                self._store = Store(self.settings)
            self.sessions = SessionService(self._store, self.settings, self.obs)
        try:
            # Learn the slot map now so the first requests do not wait for it;
            # a store that is down must not keep the service from starting.
            async with asyncio.timeout(self.settings.store_timeout * 3):
                await self._store.cluster.initialize()
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
        if self._store is not None:
            try:
                await self._store.aclose()
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
        status = 500
        req = None
        try:
            req = Request(scope, receive)
            if self.settings.require_https:
                req.secure = True  # the listener is HTTPS; port 80 only redirects
            status, headers, body = await self.dispatch(req)
        except HTTPError as e:
            status, headers, body = e.status, e.headers, orjson.dumps({"error": e.message})
            headers = [(b"content-type", JSON), *headers]
        except payload.PayloadError as e:
            status, headers, body = e.status, [(b"content-type", JSON)], orjson.dumps({"error": e.message})
        except StoreUnavailable:
            status = 503
            headers = [(b"content-type", JSON), (b"retry-after", b"%d" % self.settings.retry_after_seconds)]
            body = b'{"error":"session store unavailable"}'
        except Conflict:
            status = 409
            headers = [(b"content-type", JSON), (b"retry-after", b"1")]
            body = b'{"error":"too many concurrent updates, retry"}'
        except Exception as exc:  # noqa: BLE001 - last resort: log, answer 500
            status, headers, body = 500, [(b"content-type", JSON)], b'{"error":"internal error"}'
            self.obs.log(
                "error",
                "unhandled exception",
                error=type(exc).__name__,
                route=req.route if req else "unknown",
                trace=redact(traceback.format_exc(limit=8)),
            )
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

    async def dispatch(self, req: Request):
        handler = self._routes.get(req.path)
        if handler is not None:
            req.route = req.path
            return await handler(req)
        if req.path.startswith("/api/users/") and req.path.endswith("/sessions"):
            req.route = "/api/users/{id}/sessions"
            return await self.revoke(req, req.path[len("/api/users/") : -len("/sessions")])
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

    def _cookie_max_age(self, s: Session) -> int:
        return max(0, int(s.expires_at(self.settings) - time.time()))

    def _require_session_id(self, req: Request) -> str:
        sid = req.session_id()
        if sid is None:
            raise HTTPError(401, "no session")
        return sid

    async def _json_body(self, req: Request) -> bytes:
        payload.check_content_type(req.headers.get(b"content-type"))
        return await req.body(self.settings.max_payload_bytes)

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
        await self.sessions.ping()
        return 200, [(b"content-type", JSON)], b'{"status":"ready"}'

    async def session(self, req: Request):
        m = req.method
        s = self.sessions
        if m == "GET" or m == "HEAD":
            sess = await s.read(self._require_session_id(req))
            if sess is None:
                raise HTTPError(401, "no session", [(b"set-cookie", cookies.clear_cookie(req.secure))])
            return self._json(200, sess.public(self.settings))
        if m == "POST":
            ct = req.headers.get(b"content-type")
            if ct is None and req.headers.get(b"content-length", b"0") == b"0" and b"transfer-encoding" not in req.headers:
                body = b""
            else:
                body = await self._json_body(req)
            data, user_id = payload.parse_create(
                body,
                max_bytes=self.settings.max_payload_bytes,
                max_depth=self.settings.max_depth,
                max_keys=self.settings.max_keys,
            )
            sess = await s.create(data, user_id)
            return self._json(
                201,
                sess.public(self.settings),
                [(b"set-cookie", cookies.set_cookie(sess.id, req.secure, self._cookie_max_age(sess)))],
            )
        if m == "PATCH":
            sid = self._require_session_id(req)
            body = await self._json_body(req)
            patch = payload.parse_object(
                body,
                max_bytes=self.settings.max_payload_bytes,
                max_depth=self.settings.max_depth,
                max_keys=self.settings.max_keys,
            )
            sess = await s.update(sid, patch)
            if sess is None:
                raise HTTPError(401, "no session", [(b"set-cookie", cookies.clear_cookie(req.secure))])
            return self._json(200, sess.public(self.settings))
        if m == "DELETE":
            sid = req.session_id()
            if sid is not None:
                await s.delete(sid)
            return 204, [(b"set-cookie", cookies.clear_cookie(req.secure))], b""
        self._method_not_allowed(b"GET, HEAD, POST, PATCH, DELETE")

    async def rotate(self, req: Request):
        if req.method != "POST":
            self._method_not_allowed(b"POST")
        sess = await self.sessions.rotate(self._require_session_id(req))
        if sess is None:
            raise HTTPError(401, "no session", [(b"set-cookie", cookies.clear_cookie(req.secure))])
        return self._json(
            200,
            sess.public(self.settings),
            [(b"set-cookie", cookies.set_cookie(sess.id, req.secure, self._cookie_max_age(sess)))],
        )

    async def revoke(self, req: Request, user_id: str):
        if req.method != "DELETE":
            self._method_not_allowed(b"DELETE")
        if not payload.valid_user_id(user_id):
            raise HTTPError(404, "not found")
        sess = await self.sessions.read(self._require_session_id(req))
        if sess is None:
            raise HTTPError(401, "no session")
        if sess.user_id != user_id:
            raise HTTPError(403, "a session may only revoke its own user's sessions")
        revoked = await self.sessions.revoke_user(user_id)
        return self._json(
            200, {"revoked": revoked}, [(b"set-cookie", cookies.clear_cookie(req.secure))]
        )

    async def index(self, req: Request):
        if req.method == "HEAD":
            return 200, [(b"content-type", b"text/html; charset=utf-8")], b""
        if req.method != "GET":
            self._method_not_allowed(b"GET, HEAD")
        s = self.sessions
        sid = req.session_id()
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'"),
            (b"x-frame-options", b"DENY"),
        ]
        # Count the visit atomically (read-modify-write under compare-and-set).
        sess = await s.update(sid, _count_visit) if sid else None
        if sess is None:
            sess = await s.create({"visits": 1}, None)
            headers.append((b"set-cookie", cookies.set_cookie(sess.id, req.secure, self._cookie_max_age(sess))))
        visits = sess.data.get("visits", 1)
        age = max(0, int(time.time() - sess.created_ms / 1000))
        page = _PAGE.format(
            visits=html.escape(str(visits)),
            age=age,
            instance=html.escape(self.settings.instance_name),
            environment=html.escape(self.settings.environment),
        )
        return 200, headers, page.encode()


def _count_visit(data: dict) -> dict:
    visits = data.get("visits")
    return {"visits": visits + 1 if isinstance(visits, int) and not isinstance(visits, bool) else 1}


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Session service</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36em;margin:3em auto;line-height:1.5}}
dt{{font-weight:bold}}</style></head>
<body><h1>Session service</h1>
<dl>
<dt>Visits in this session</dt><dd id="visits">{visits}</dd>
<dt>Session age</dt><dd id="age">{age} s</dd>
<dt>Served by instance</dt><dd id="instance">{instance}</dd>
<dt>Environment</dt><dd>{environment}</dd>
</dl>
<p>Reload the page: the count survives whichever instance answers, because the
session lives in the shared store, not in the process.</p>
</body></html>
"""


def create_app() -> App:
    """Factory for ``uvicorn --factory app.http:create_app``."""
    return App(Settings.from_env())
