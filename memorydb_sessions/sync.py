"""The same core for synchronous code (Django, Flask, WSGI servers, management commands).

One event loop per process runs in a daemon thread and owns the store connections; calls
from any thread are handed to it and waited for.  The loop is made lazily and again after
a fork (gunicorn forks workers after import), so no connection is shared across processes.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .connection import StoreClient, StoreConfig
from .policy import SessionPolicy
from .sessions import Metrics, SessionStore

T = TypeVar("T")


class SyncSessionStore:
    """``SessionStore``'s methods as blocking calls: ``store.read(token)``, ``store.sign_in(...)``."""

    def __init__(self, config: StoreConfig, policy: SessionPolicy, metrics: Metrics | None = None) -> None:
        self.config = config
        self.policy = policy
        self.metrics = metrics
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._store: SessionStore | None = None

    def _ensure(self) -> tuple[asyncio.AbstractEventLoop, SessionStore]:
        pid = os.getpid()
        if self._pid != pid:
            with self._lock:
                if self._pid != pid:
                    loop = asyncio.new_event_loop()
                    threading.Thread(target=loop.run_forever, name="memorydb-sessions", daemon=True).start()
                    store = asyncio.run_coroutine_threadsafe(self._make(), loop).result()
                    self._loop, self._store, self._pid = loop, store, pid
        return self._loop, self._store  # type: ignore[return-value]

    async def _make(self) -> SessionStore:
        client = StoreClient(self.config)
        try:
            await client.initialize()
        except Exception:  # noqa: BLE001 - a store that is down must not stop the app from starting
            pass
        return SessionStore(client, self.policy, self.metrics)

    def run(self, make: Callable[[SessionStore], Coroutine[Any, Any, T]]) -> T:
        """Run ``make(store)`` on the store's loop and wait for it."""
        loop, store = self._ensure()
        return asyncio.run_coroutine_threadsafe(make(store), loop).result()

    def __getattr__(self, name: str):
        if name.startswith("_") or not callable(getattr(SessionStore, name, None)):
            raise AttributeError(name)

        def call(*args, **kwargs):
            return self.run(lambda store: getattr(store, name)(*args, **kwargs))

        call.__name__ = name
        return call

    def close(self) -> None:
        if self._loop is not None and self._pid == os.getpid():
            asyncio.run_coroutine_threadsafe(self._store.client.aclose(), self._loop).result()  # type: ignore[union-attr]
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._pid = None
