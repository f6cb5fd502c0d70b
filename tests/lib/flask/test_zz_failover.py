"""Failover drill for the Flask interface through Flask's request cycle (tests/lib/failover_drill.py
says what it proves). Runs last in this folder (file name): it reshapes the shared cluster and
restarts the killed node."""

from __future__ import annotations

from flask import Flask

from memorydb_sessions import SessionPolicy
from memorydb_sessions.sync import SyncSessionStore

from ..failover_drill import run_threaded
from .conftest import make_app

COOKIE = "session"


class FlaskBrowser:
    def __init__(self, app: Flask, token: str | None = None) -> None:
        self.app, self.client = app, app.test_client()
        if token is not None:
            self.client.set_cookie(COOKIE, token)

    def write(self, value: str) -> int:
        return self.client.get(f"/write?n={value}").status_code

    def read(self) -> tuple[int, str | None]:
        r = self.client.get("/read")
        return r.status_code, r.json["n"] if r.status_code == 200 else None

    def twin(self) -> FlaskBrowser:
        return FlaskBrowser(self.app, self.client.get_cookie(COOKIE).value)


def test_primary_killed_during_traffic_recovers(cluster, store_config):
    store = SyncSessionStore(store_config, SessionPolicy(store_timeout=1.0))
    try:
        app = make_app(store)
        run_threaded(cluster, lambda: FlaskBrowser(app)).assert_passed()
    finally:
        store.close()
