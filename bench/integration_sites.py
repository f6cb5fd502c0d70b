"""The apps `bench.integrations` measures; ``BENCH_CASE`` picks one.  Each answers
``GET /make`` (puts a value in a new session) and ``GET /read`` (reads it back, no save).

* ``flask-ours`` / ``asgi-ours``: memorydb_sessions.flask / .asgi on the cluster (SESSION_* env).
* ``flask-session``: Flask-Session 0.8 (Redis backend) on the same cluster, handed redis-py's
  ``RedisCluster`` as bench/flask_app.py does (0.8 has no cluster mode: it accepts only a
  ``redis.Redis`` and issues single-key GET/SET/DELETE, which a cluster client serves).
* ``asgi-starlette``: Starlette's cookie SessionMiddleware (signed data in the cookie, no store).
* ``flask-none`` / ``asgi-none``: the framework without sessions.
"""

from __future__ import annotations

import os

CASE = os.environ.get("BENCH_CASE", "flask-none")


def _flask():
    from flask import Flask, jsonify, session

    app = Flask(__name__)
    app.config.update(SECRET_KEY="bench-only")
    if CASE == "flask-ours":
        from memorydb_sessions.flask import MemoryDBSessionInterface
        app.session_interface = MemoryDBSessionInterface()
    elif CASE == "flask-session":
        from flask_session import Session
        from redis import Redis
        from redis.cluster import RedisCluster
        cluster = RedisCluster(host=os.environ["SESSION_STORE_ENDPOINT"], port=int(os.environ["SESSION_STORE_PORT"]),
                               username=os.environ.get("SESSION_STORE_USERNAME"),
                               password=os.environ.get("SESSION_STORE_PASSWORD"), ssl=True,
                               ssl_ca_certs=os.environ.get("SESSION_STORE_CA_FILE"), require_full_coverage=False)
        app.config.update(SESSION_TYPE="redis", SESSION_REDIS=Redis(), SESSION_PERMANENT=True,
                          PERMANENT_SESSION_LIFETIME=1800, SESSION_KEY_PREFIX="flask:")
        Session(app)
        app.session_interface.client = cluster

    @app.get("/healthz")
    def healthz():
        return "ok"

    @app.get("/make")
    def make():
        if CASE != "flask-none":
            session["user"] = "u1"
        return "ok"

    @app.get("/read")
    def read():
        return jsonify(user=session.get("user") if CASE != "flask-none" else "u1")

    return app


def _asgi():
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    middleware = []
    if CASE == "asgi-ours":
        from memorydb_sessions.asgi import SessionMiddleware
        middleware = [Middleware(SessionMiddleware)]
    elif CASE == "asgi-starlette":
        from starlette.middleware.sessions import SessionMiddleware
        middleware = [Middleware(SessionMiddleware, secret_key="bench-only")]

    async def healthz(request):
        return PlainTextResponse("ok")

    async def make(request):
        if CASE != "asgi-none":
            request.session["user"] = "u1"
        return PlainTextResponse("ok")

    async def read(request):
        return JSONResponse({"user": request.session.get("user") if CASE != "asgi-none" else "u1"})

    return Starlette(routes=[Route("/healthz", healthz), Route("/make", make), Route("/read", read)],
                     middleware=middleware)


app = _flask() if CASE.startswith("flask") else _asgi()
