"""The anchor: what Python teams use today.  Flask + Flask-Session (Redis
backend) with the same JSON API as the session service, run by gunicorn,
against the same Redis Cluster.

Flask-Session 0.8 accepts only a ``redis.Redis`` instance (anything else is
replaced by a client for localhost), so the interface is built with a plain
client object and then handed redis-py's synchronous ``RedisCluster``, which
serves the only commands Flask-Session issues: single-key GET, SET and DELETE.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify, request, session
from flask_session import Session
from redis import Redis
from redis.cluster import RedisCluster

app = Flask(__name__)
cluster = RedisCluster(
        host=os.environ["SESSION_STORE_ENDPOINT"],
        port=int(os.environ["SESSION_STORE_PORT"]),
        username=os.environ.get("SESSION_STORE_USERNAME"),
        password=os.environ.get("SESSION_STORE_PASSWORD"),
        ssl=os.environ.get("SESSION_STORE_TLS", "true") == "true",
        ssl_ca_certs=os.environ.get("SESSION_STORE_CA_FILE"),
        require_full_coverage=False,
)
app.config.update(
    SESSION_TYPE="redis",
    SESSION_REDIS=Redis(),  # placeholder that passes Flask-Session's type check; never connected
    SESSION_PERMANENT=True,  # sliding expiry: refreshed on every request, like GETEX
    PERMANENT_SESSION_LIFETIME=1800,
    SESSION_KEY_PREFIX="flask:",
    SESSION_COOKIE_HTTPONLY=True,
    SESSION_COOKIE_SAMESITE="Lax",
)
Session(app)
app.session_interface.client = cluster


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")


@app.post("/api/session")
def create():
    session.clear()
    session.update((request.get_json(silent=True) or {}).get("data", {}))
    return jsonify(data=dict(session)), 201


@app.get("/api/session")
def read():
    if not session:
        return jsonify(error="no session"), 401
    return jsonify(data=dict(session))


@app.patch("/api/session")
def patch():
    if not session:
        return jsonify(error="no session"), 401
    session.update(request.get_json() or {})
    return jsonify(data=dict(session))
