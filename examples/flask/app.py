"""A minimal Flask application on the stack's session store (the container contract,
docs/container-contract.md): gunicorn on port 8000, `GET /healthz` without the store, the
store configured from the SESSION_* values the stack gives the task.

`GET /` counts the visits of the browser's server-side session (cookie `sid`, HttpOnly,
Secure when the stack serves HTTPS).
"""

from __future__ import annotations

import os
import threading

from flask import Flask, jsonify, request

from memorydb_sessions.environment import policy_from_env, store_config_from_env
from memorydb_sessions.sync import SyncSessionStore

app = Flask(__name__)
_store: SyncSessionStore | None = None
_lock = threading.Lock()
SECURE = os.environ.get("SESSION_REQUIRE_HTTPS", "false") == "true"


def store() -> SyncSessionStore:
    """Made on first use, so the health check and a start without a store never connect."""
    global _store
    with _lock:
        if _store is None:
            _store = SyncSessionStore(store_config_from_env(), policy_from_env())
        return _store


@app.get("/healthz")
def healthz():
    return "ok\n", 200, {"Content-Type": "text/plain", "Cache-Control": "no-store"}


@app.get("/")
def visits():
    token = request.cookies.get("sid")
    session = store().read(token) if token else None
    if session is None:
        session = store().create({"visits": 1})
    else:
        session = store().update_data(session.token, lambda data: {**data, "visits": data.get("visits", 0) + 1}) or session
    response = jsonify(visits=session.data.get("visits"))
    response.set_cookie("sid", session.token, httponly=True, secure=SECURE, samesite="Lax")
    return response
