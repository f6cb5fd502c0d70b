"""Failover drill for the Django engine through Django's request cycle (tests/lib/failover_drill.py
says what it proves). Runs last in this folder (file name) because it reshapes the shared
cluster; it restarts the killed node."""

from __future__ import annotations

from django.conf import settings
from django.test import Client

from ..failover_drill import run_threaded

COOKIE = settings.SESSION_COOKIE_NAME


class DjangoBrowser:
    def __init__(self, token: str | None = None) -> None:
        self.client = Client(raise_request_exception=False)
        if token is not None:
            self.client.cookies[COOKIE] = token

    def write(self, value: str) -> int:
        return self.client.get(f"/write?n={value}").status_code

    def read(self) -> tuple[int, str | None]:
        r = self.client.get("/read")
        return r.status_code, r.json()["data"] if r.status_code == 200 else None

    def twin(self) -> DjangoBrowser:
        # The token stays the same across writes (a write is a compare-and-set under the same key).
        return DjangoBrowser(self.client.cookies[COOKIE].value)


def test_primary_killed_during_traffic_recovers(cluster):
    run_threaded(cluster, DjangoBrowser).assert_passed()
