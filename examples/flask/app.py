"""A small Flask application on the stack's session store, through the library's Flask
integration (``memorydb_sessions.flask``), for the container contract
(docs/container-contract.md): gunicorn on port 8000, ``GET /healthz`` without the store, the
store configured from the SESSION_* values the stack gives the task.

``GET /`` counts the visits of the browser's server-side session; ``POST /login`` (form
fields ``user``, ``password``) signs in under a new session id; ``GET /me`` shows the user
and their sessions; ``POST /logout`` and ``POST /logout-everywhere`` end one or all.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from flask import Flask, jsonify, request, session

from memorydb_sessions import SessionLimitReached, SignInRevoked
from memorydb_sessions import flask as sessions

app = Flask(__name__)
# The session store is built on first use from the SESSION_* environment.
app.session_interface = sessions.MemoryDBSessionInterface()
app.config.update(SESSION_COOKIE_SECURE=os.environ.get("SESSION_REQUIRE_HTTPS", "false") == "true",
                  SESSION_COOKIE_SAMESITE="Lax")


def _scrypt(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)


# A tiny user list for the example (a real app has its own): name -> (salt, scrypt hash).
_SALT = os.urandom(16)
USERS = {"alice": (_SALT, _scrypt(os.environ.get("EXAMPLE_ALICE_PASSWORD", "wonderland"), _SALT))}


def _password_ok(user: str, password: str) -> bool:
    salt, expected = USERS.get(user, (_SALT, b""))
    return hmac.compare_digest(_scrypt(password, salt), expected) and user in USERS


@app.get("/healthz")
def healthz():
    return "ok\n", 200, {"Content-Type": "text/plain", "Cache-Control": "no-store"}


@app.get("/")
def visits():
    session["visits"] = session.get("visits", 0) + 1
    return jsonify(visits=session["visits"])


@app.post("/login")
def login():
    user, password = request.form.get("user", ""), request.form.get("password", "")
    if not _password_ok(user, password):
        return jsonify(error="user or password is wrong"), 401
    try:
        sessions.sign_in(user)  # a new session id; the old one ends
    except SignInRevoked:
        return jsonify(error="signed out everywhere meanwhile: sign in again"), 403
    except SessionLimitReached:
        return jsonify(error="too many sessions: end one first"), 409
    return jsonify(user=user)


@app.get("/me")
def me():
    if session.user_id is None:
        return jsonify(error="not signed in"), 401
    mine = [{"handle": s.handle, "created_at": s.created_at, "current": s.current} for s in sessions.list_sessions()]
    return jsonify(user=session.user_id, sessions=mine)


@app.post("/logout")
def logout():
    sessions.sign_out()
    return jsonify(ok=True)


@app.post("/logout-everywhere")
def logout_everywhere():
    return jsonify(ended=sessions.sign_out_everywhere())
