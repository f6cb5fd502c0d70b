"""A pipelined fast path for the hot single-key commands.

redis-py's asyncio cluster client costs ~300 us of Python per command and
opens one connection per concurrent command (a TLS handshake storm under a
burst).  This module sends single-key commands over ONE multiplexed,
pipelined connection per primary (replies match requests in FIFO order, parsed
by hiredis's C reader), which is several times cheaper.

It owns no cluster logic of its own: the slot map comes from redis-py's
``RedisCluster`` (``nodes_manager.slots_cache``).  Whenever anything is not
the happy path (no slot map yet, a MOVED/ASK/TRYAGAIN/CLUSTERDOWN/LOADING
reply, a connection that fails), the command is handed to redis-py, which
follows redirections, retries with backoff and refreshes the topology after a
failover; the fast path then uses the updated map.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque

import hiredis
from redis.crc import key_slot
from redis.exceptions import ConnectionError as StoreConnectionError
from redis.exceptions import NoScriptError, ResponseError

# Error replies that mean "ask the cluster again, elsewhere or later".
_CLUSTER_ERRORS = ("MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN", "LOADING", "READONLY", "MASTERDOWN")


class _Conn(asyncio.Protocol):
    """One pipelined RESP connection."""

    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.waiters: deque[asyncio.Future] = deque()
        self.sent_at: deque[float] = deque()  # monotonic send time of each waiter
        self.transport: asyncio.Transport | None = None
        self.lost = False
        # Commands issued in one event-loop iteration go out in one write (one
        # TLS record, one syscall) instead of one each.
        self._out: list[bytes] = []
        self._flush_scheduled = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while True:
            try:
                reply = self.reader.gets()
            except hiredis.ProtocolError:
                self.abort()
                return
            if reply is False:
                return
            if not self.waiters:  # a reply nobody asked for: the stream is out of sync
                self.abort()
                return
            fut = self.waiters.popleft()
            self.sent_at.popleft()
            if not fut.done():  # a cancelled waiter's reply is dropped, order is kept
                fut.set_result(reply)

    def connection_lost(self, exc) -> None:
        self.lost = True
        err = StoreConnectionError(f"connection lost: {exc}" if exc else "connection closed")
        self.sent_at.clear()
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                fut.set_exception(err)

    def _flush(self) -> None:
        self._flush_scheduled = False
        out, self._out = self._out, []
        if out and not self.lost:
            try:
                self.transport.write(b"".join(out) if len(out) > 1 else out[0])
            except Exception:  # noqa: BLE001 - a transport that cannot write is dead
                self.abort()

    def abort(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.abort()

    def _send(self, packed: bytes) -> asyncio.Future:
        if self.lost:
            raise StoreConnectionError("connection closed")
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self.waiters.append(fut)
        self.sent_at.append(loop.time())
        self._out.append(packed)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return fut

    async def call(self, packed: bytes):
        fut = self._send(packed)
        try:
            return await fut
        except asyncio.CancelledError:
            # Our caller gave up (deadline): a connection that stalls this long
            # is not trusted any more; the next command opens a fresh one.
            self.abort()
            raise

    async def call_many(self, packed: list[bytes]) -> list:
        futures = [self._send(p) for p in packed]
        try:
            replies, error = [], None
            for future in futures:  # every future awaited, so none's exception goes unretrieved
                try:
                    replies.append(await future)
                except (OSError, StoreConnectionError) as exc:
                    error = error or exc
            if error is not None:
                raise error
            return replies
        except asyncio.CancelledError:
            self.abort()
            raise


class FastPath:
    def __init__(
        self, cluster, *, ssl_context: ssl.SSLContext | None, credentials, connect_timeout: float, timeout: float
    ) -> None:
        """*cluster*: redis-py asyncio RedisCluster (slot map + slow path).
        *credentials*: async callable returning (username, password) or None.
        *timeout*: how long a reply may be overdue before its connection is aborted by a
        watchdog (cheaper than a timer per command); its waiters then go to the slow
        path, inside the operation's own deadline."""
        self.cluster = cluster
        self.ssl_context = ssl_context
        self.credentials = credentials
        self.connect_timeout = connect_timeout
        self._conns: dict[tuple[str, int], _Conn] = {}
        self._connecting: dict[tuple[str, int], asyncio.Task] = {}
        self.fallbacks = 0
        self.timeout = timeout
        self._watchdog: asyncio.TimerHandle | None = None

    async def execute(self, *args, key=None):
        """Run a single-key command on the primary of *key* (default ``args[1]``).

        Only commands that are safe to send twice may come here: after a connection error
        the command goes to redis-py, which may send it again.  Every command this package
        sends is idempotent or a retry-safe script (``scripts.py``)."""
        (reply,) = await self.pipeline([args], key=args[1] if key is None else key)
        return reply

    async def pipeline(self, commands: list[tuple], *, key) -> list:
        """Run commands on the slot of *key* in one round trip (one write, replies in
        order).  Each reply error raises; cluster errors go to the slow path."""
        try:
            nodes = self.cluster.nodes_manager.slots_cache.get(key_slot(_b(key)))
        except (AttributeError, TypeError):
            nodes = None
        if not nodes or getattr(self.cluster, "_initialize", True):
            return await self._slow(commands)
        primary = nodes[0]
        addr = (primary.host, primary.port)
        try:
            conn = self._conns.get(addr)
            if conn is None or conn.lost:
                conn = await self._connect(addr)
            if len(commands) == 1:
                replies = [await conn.call(hiredis.pack_command(commands[0]))]
            else:
                replies = await conn.call_many([hiredis.pack_command(c) for c in commands])
        except (OSError, StoreConnectionError, asyncio.TimeoutError):
            return await self._slow(commands)
        for reply in replies:
            if isinstance(reply, hiredis.ReplyError):
                msg = str(reply)
                if msg.startswith(_CLUSTER_ERRORS):
                    return await self._slow(commands)
                if msg.startswith("NOSCRIPT"):
                    raise NoScriptError(msg)
                raise ResponseError(msg)
        return replies

    async def _slow(self, commands: list[tuple]) -> list:
        """redis-py follows redirections and refreshes the slot map.  It runs inside the
        caller's deadline (the caller's ``asyncio.timeout``), not a fresh one: the
        documented deadline is the whole operation's."""
        self.fallbacks += 1
        return [await self.cluster.execute_command(*c) for c in commands]

    def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        for conn in list(self._conns.values()):
            if conn.sent_at and now - conn.sent_at[0] > self.timeout:
                conn.abort()  # waiters fail over to the slow path
        self._watchdog = loop.call_later(min(0.1, self.timeout / 4), self._watch)

    async def _connect(self, addr: tuple[str, int]) -> _Conn:
        task = self._connecting.get(addr)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._open(addr))
            self._connecting[addr] = task
            task.add_done_callback(lambda _t, a=addr: self._connecting.pop(a, None))
        return await asyncio.shield(task)

    async def _open(self, addr: tuple[str, int]) -> _Conn:
        host, port = addr
        loop = asyncio.get_running_loop()
        _, conn = await asyncio.wait_for(
            loop.create_connection(
                _Conn, host, port, ssl=self.ssl_context, server_hostname=host if self.ssl_context else None
            ),
            self.connect_timeout,
        )
        try:
            creds = await self.credentials() if self.credentials else None
            if creds and creds[1]:
                reply = await asyncio.wait_for(conn.call(hiredis.pack_command(("AUTH", *creds))), self.connect_timeout)
                if isinstance(reply, hiredis.ReplyError):
                    raise StoreConnectionError(f"AUTH failed: {reply}")
        except BaseException:
            conn.abort()
            raise
        if self._watchdog is None:
            self._watch()
        old = self._conns.get(addr)
        if old is not None and old is not conn:
            old.abort()
        self._conns[addr] = conn
        return conn

    async def aclose(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        for conn in self._conns.values():
            if conn.transport is not None:
                conn.transport.close()
        self._conns.clear()


def _b(key) -> bytes:
    return key if isinstance(key, bytes) else str(key).encode()
