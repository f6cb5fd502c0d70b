"""A Flask app on the integration, its store on the suite's cluster (tests/lib/conftest.py)."""

from __future__ import annotations

import pytest
from flask import Flask, jsonify, request, session

from memorydb_sessions import SessionPolicy
from memorydb_sessions import flask as sessions
from memorydb_sessions.sync import SyncSessionStore


class CountingStore:
    """The real store, counting the calls the integration makes (to prove laziness)."""

    def __init__(self, store: SyncSessionStore) -> None:
        self.inner, self.calls = store, []

    @property
    def policy(self):
        return self.inner.policy

    def __getattr__(self, name):
        method = getattr(self.inner, name)

        def call(*args, **kwargs):
            self.calls.append(name)
            return method(*args, **kwargs)

        return call


def make_app(store) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="unused-by-the-interface", TESTING=True)
    app.session_interface = sessions.MemoryDBSessionInterface(store)

    @app.get("/healthz")
    def healthz():
        return "ok"

    @app.get("/write")
    def write():
        session["n"] = request.args["n"]
        session.permanent = request.args.get("permanent") == "1"
        return "ok"

    @app.get("/read")
    def read():
        return jsonify(n=session.get("n"), user=session.user_id)

    @app.get("/who")
    def who():
        return jsonify(user=session.user_id)  # the first touch of the session

    @app.get("/nested")
    def nested():
        session.setdefault("items", [])
        session["items"].append(request.args["v"])  # a nested change: Flask does not see it
        if request.args.get("flag") == "1":
            session.modified = True
        return jsonify(items=session["items"])

    @app.get("/clear")
    def clear():
        session.clear()
        return "ok"

    @app.get("/login")
    def login():
        sessions.sign_in(request.args["user"])
        return "ok"

    @app.get("/logout")
    def logout():
        sessions.sign_out()
        return "ok"

    @app.get("/everywhere")
    def everywhere():
        return jsonify(ended=sessions.sign_out_everywhere())

    @app.get("/rotate")
    def rotate():
        sessions.rotate()
        return "ok"

    @app.get("/mine")
    def mine():
        return jsonify(n=len(sessions.list_sessions()))

    return app


@pytest.fixture(scope="session")
def sync_store(store_config):
    store = SyncSessionStore(store_config, SessionPolicy(store_timeout=10.0))
    yield store
    store.close()


@pytest.fixture()
def store(sync_store):
    return CountingStore(sync_store)


@pytest.fixture()
def app(store):
    return make_app(store)
