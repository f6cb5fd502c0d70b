"""Session logic on top of the store.

Key layout (why it is sound in cluster mode)
---------------------------------------------
* ``sess:<id>``: one key per session, a JSON record ``{"c": created_ms,
  "u": user_id|null, "d": data}`` whose TTL is the idle timeout.  Lookups come
  with nothing but the id from the cookie, so the key must be derivable from the
  id alone: it hashes on the whole key and sessions spread evenly over all
  shards.  (Putting sessions in a per-user hash tag like ``{u:<user>}`` would
  make a user's sessions co-located, but then the cookie would have to carry
  the user id, and one heavy user would pin a shard.)
* ``usess:<user>``: a per-user index, a sorted set of that user's session ids
  scored by their absolute expiry.  It lives in its own slot, so creating a
  session touches two slots and cannot be one transaction.  The order makes it
  safe: the id is added to the index *before* the session key is written, so
  a live session is never missing from its user's index (a failure in between
  leaves at most a dangling id, which revocation deletes harmlessly and pruning
  removes).  Revocation reads the index, deletes every listed session key
  (pipelined, grouped per shard) and removes exactly those ids from the index.
  A session created concurrently with a revocation is ordered after it.

Reads are one round trip (``GETEX`` slides the idle TTL); the absolute
lifetime is checked on the record.  PATCH is an optimistic compare-and-set in
a Lua script on the single session key (one slot), retried on conflict, so two
concurrent PATCHes both survive; the expected value is the one this process
last saw when it has one (one round trip), else a fresh GET (two).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import orjson
from redis.exceptions import NoScriptError

from . import payload
from .cookies import new_session_id
from .config import Settings
from .observability import Observability
from .store import STORE_ERRORS, StoreUnavailable

SESSION_PREFIX = "sess:"
USER_PREFIX = "usess:"
CAS_RETRIES = 32

# Compare-and-set: replace the value only if it is still what we read.
CAS_SCRIPT = b"""
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if cur ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""
CAS_SHA = hashlib.sha1(CAS_SCRIPT).hexdigest()


class RecentValues:
    """The last value this process read or wrote per session id, bounded in
    entries and bytes (LRU).  Used only as the *expected* value of the
    compare-and-set, so a stale entry costs one extra round trip, never
    correctness: a PATCH right after a read (or a previous PATCH) on the same
    instance is one round trip instead of two."""

    def __init__(self, max_entries: int = 4096, max_bytes: int = 8 * 1024 * 1024) -> None:
        self._d: OrderedDict[str, bytes] = OrderedDict()
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0

    def get(self, sid: str) -> bytes | None:
        raw = self._d.get(sid)
        if raw is not None:
            self._d.move_to_end(sid)
        return raw

    def put(self, sid: str, raw: bytes) -> None:
        old = self._d.pop(sid, None)
        if old is not None:
            self.bytes -= len(old)
        self._d[sid] = raw
        self.bytes += len(raw)
        while self._d and (len(self._d) > self.max_entries or self.bytes > self.max_bytes):
            _, dropped = self._d.popitem(last=False)
            self.bytes -= len(dropped)

    def drop(self, sid: str) -> None:
        old = self._d.pop(sid, None)
        if old is not None:
            self.bytes -= len(old)


class Conflict(Exception):
    """Too many concurrent writers on one session."""


@dataclass(slots=True)
class Session:
    id: str
    created_ms: int
    user_id: str | None
    data: dict

    def expires_at(self, settings: Settings) -> float:
        return self.created_ms / 1000 + settings.absolute_lifetime

    def public(self, settings: Settings) -> dict:
        return {
            "data": self.data,
            "user_id": self.user_id,
            "created_at": self.created_ms / 1000,
            "absolute_expiry": self.expires_at(settings),
            "idle_timeout": settings.idle_timeout,
        }


def encode(created_ms: int, user_id: str | None, data: dict) -> bytes:
    return orjson.dumps({"c": created_ms, "u": user_id, "d": data})


def _now_ms() -> int:
    return int(time.time() * 1000)


class SessionService:
    def __init__(self, store, settings: Settings, obs: Observability) -> None:
        self.store = store
        self.client = store.cluster
        self.fast = store.fast.execute
        self.recent = RecentValues()
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self.settings = settings
        self.obs = obs

    # ------------------------------------------------------------ plumbing
    async def _run(self, coro):
        """Await a store operation under the deadline; map failures to StoreUnavailable."""
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(self.settings.store_timeout):
                result = await coro
        except STORE_ERRORS as exc:
            self.obs.incr("StoreErrors")
            self.obs.store_error(exc)
            raise StoreUnavailable(type(exc).__name__) from exc
        finally:
            self.obs.store_latency((time.perf_counter() - t0) * 1000)
        return result

    async def _cmd(self, *args, key=None):
        """A single-key command on the fast path (which enforces the deadline itself)."""
        t0 = time.perf_counter()
        try:
            return await self.fast(*args, key=key)
        except NoScriptError:
            raise
        except STORE_ERRORS as exc:
            self.obs.incr("StoreErrors")
            self.obs.store_error(exc)
            raise StoreUnavailable(type(exc).__name__) from exc
        finally:
            self.obs.store_latency((time.perf_counter() - t0) * 1000)

    def _decode(self, sid: str, raw: bytes) -> Session | None:
        try:
            rec = orjson.loads(raw)
            return Session(sid, int(rec["c"]), rec.get("u"), rec["d"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None

    def _remaining_ms(self, s: Session, now_ms: int) -> int:
        return s.created_ms + self.settings.absolute_lifetime * 1000 - now_ms

    def _ttl(self, s: Session, now_ms: int) -> int:
        """Idle TTL, never past the absolute expiry."""
        return max(1, min(self.settings.idle_timeout, self._remaining_ms(s, now_ms) // 1000))

    async def ping(self) -> None:
        await self._run(self.client.ping())

    # ---------------------------------------------------------- operations
    async def create(self, data: dict, user_id: str | None) -> Session:
        now = _now_ms()
        record = encode(now, user_id, data)
        self._check_size(data)
        for _ in range(3):
            sid = new_session_id()
            if user_id is not None:
                await self._index_add(user_id, sid, now)
            if await self._cmd("SET", SESSION_PREFIX + sid, record, "EX", self.settings.idle_timeout, "NX"):
                self.recent.put(sid, record)
                self.obs.incr("SessionsCreated")
                return Session(sid, now, user_id, data)
        raise StoreUnavailable("could not allocate a session id")  # 2**-256: never

    async def read(self, sid: str) -> Session | None:
        """Read and slide the idle expiry in one round trip (GETEX)."""
        raw = await self._cmd("GETEX", SESSION_PREFIX + sid, "EX", self.settings.idle_timeout)
        now = _now_ms()
        s = await self._live(sid, raw, now)
        if s is None:
            return None
        remaining = self._remaining_ms(s, now)
        if remaining < self.settings.idle_timeout * 1000:
            # Near the end of its absolute lifetime: do not let GETEX extend it.
            await self._cmd("PEXPIRE", SESSION_PREFIX + sid, max(1, remaining))
        self.recent.put(sid, raw)
        self.obs.incr("SessionReads")
        return s

    async def _live(self, sid: str, raw: bytes | None, now_ms: int) -> Session | None:
        """The session stored as *raw*, or None (counted as a miss) when it is absent,
        unreadable or past its absolute lifetime (then deleted)."""
        if raw is None:
            self.recent.drop(sid)
            self.obs.incr("SessionMisses")
            return None
        s = self._decode(sid, raw)
        if s is None:
            self.obs.incr("SessionMisses")
            return None
        if self._remaining_ms(s, now_ms) <= 0:
            await self._expire(s)
            return None
        return s

    async def update(self, sid: str, patch) -> Session | None:
        """Merge *patch* (RFC 7396) into the data atomically.  *patch* may be a
        function of the current data returning the patch (read-modify-write).

        Writers of one session in this process queue on a per-session lock (no
        wasted round trips); writers in other processes are resolved by the
        compare-and-set, retried with jittered backoff."""
        lock = self._locks.get(sid)
        if lock is None:
            lock = self._locks[sid] = asyncio.Lock()
        async with lock:
            return await self._update(sid, patch)

    async def _update(self, sid: str, patch) -> Session | None:
        key = SESSION_PREFIX + sid
        raw = self.recent.get(sid)  # expected value: what this process last saw
        for attempt in range(CAS_RETRIES):
            if raw is None:
                raw = await self._cmd("GET", key)
            now = _now_ms()
            s = await self._live(sid, raw, now)
            if s is None:
                return None
            data = payload.merge_patch(s.data, patch(s.data) if callable(patch) else patch)
            payload.check_limits(data, self.settings.max_depth, self.settings.max_keys)
            self._check_size(data)
            new = encode(s.created_ms, s.user_id, data)
            res = await self._cas(key, raw, new, self._ttl(s, now))
            if res == 1:
                self.recent.put(sid, new)
                self.obs.incr("SessionsUpdated")
                s.data = data
                return s
            if res == 0:
                self.recent.drop(sid)
                self.obs.incr("SessionMisses")
                return None
            # Conflict: the value changed since we saw it (another process wrote,
            # or our remembered value was stale): read it again.
            self.recent.drop(sid)
            raw = None
            if attempt:
                await asyncio.sleep(random.uniform(0, 0.001 * attempt))
        raise Conflict()

    async def delete(self, sid: str) -> bool:
        self.recent.drop(sid)
        raw = await self._cmd("GETDEL", SESSION_PREFIX + sid)
        if raw is None:
            return False
        s = self._decode(sid, raw)
        if s is not None and s.user_id is not None:
            await self._run(self.client.zrem(USER_PREFIX + s.user_id, sid))
        self.obs.incr("SessionsDeleted")
        return True

    async def rotate(self, sid: str) -> Session | None:
        """New id, same data; the old id dies first (GETDEL: one winner)."""
        old_key = SESSION_PREFIX + sid
        self.recent.drop(sid)
        raw = await self._cmd("GETDEL", old_key)
        if raw is None:
            self.obs.incr("SessionMisses")
            return None
        s = self._decode(sid, raw)
        if s is None:
            return None
        now = _now_ms()
        if self._remaining_ms(s, now) <= 0:
            self.obs.incr("SessionsExpired")
            return None
        new_sid = new_session_id()
        ttl = self._ttl(s, now)
        try:
            if s.user_id is not None:
                await self._index_add(s.user_id, new_sid, s.created_ms)
            await self._cmd("SET", SESSION_PREFIX + new_sid, raw, "EX", ttl, "NX")
        except StoreUnavailable:
            # Put the old session back so the user is not logged out by an outage.
            try:
                await self._cmd("SET", old_key, raw, "EX", ttl, "NX")
            except StoreUnavailable:
                pass
            raise
        if s.user_id is not None:
            try:
                await self._run(self.client.zrem(USER_PREFIX + s.user_id, sid))
            except StoreUnavailable:
                pass  # a dangling id in the index is harmless
        self.recent.put(new_sid, raw)
        self.obs.incr("SessionsRotated")
        return Session(new_sid, s.created_ms, s.user_id, s.data)

    async def revoke_user(self, user_id: str) -> int:
        """Delete every session of *user_id* (log out everywhere)."""
        index = USER_PREFIX + user_id
        sids = await self._run(self.client.zrange(index, 0, -1))
        if not sids:
            return 0
        revoked = 0
        # Pipelined DELs, grouped per shard by the cluster client.
        for i in range(0, len(sids), 500):
            chunk = sids[i : i + 500]

            async def _delete(chunk=chunk):
                async with self.client.pipeline(transaction=False) as pipe:
                    for raw_sid in chunk:
                        self.recent.drop(raw_sid.decode())
                        pipe.delete(SESSION_PREFIX + raw_sid.decode())
                    return await pipe.execute()

            results = await self._run(_delete())
            revoked += sum(int(r) for r in results)
            await self._run(self.client.zrem(index, *chunk))
        self.obs.incr("SessionsRevoked", revoked)
        return revoked

    # ------------------------------------------------------------ helpers
    def _check_size(self, data: dict) -> None:
        size = len(orjson.dumps(data))
        if size > self.settings.max_payload_bytes:
            raise payload.PayloadError(413, f"session data larger than {self.settings.max_payload_bytes} bytes")

    async def _index_add(self, user_id: str, sid: str, created_ms: int) -> None:
        index = USER_PREFIX + user_id
        expiry = created_ms / 1000 + self.settings.absolute_lifetime

        async def _add():
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.zremrangebyscore(index, "-inf", time.time())
                pipe.zadd(index, {sid: expiry})
                pipe.expire(index, self.settings.absolute_lifetime + 60)
                await pipe.execute()

        await self._run(_add())

    async def _expire(self, s: Session) -> None:
        self.recent.drop(s.id)
        self.obs.incr("SessionsExpired")
        await self._cmd("DEL", SESSION_PREFIX + s.id)
        if s.user_id is not None:
            await self._run(self.client.zrem(USER_PREFIX + s.user_id, s.id))

    async def _cas(self, key: str, old: bytes, new: bytes, ttl: int) -> int:
        try:
            return int(await self._cmd("EVALSHA", CAS_SHA, 1, key, old, new, ttl, key=key))
        except NoScriptError:
            # A node that has not seen the script yet (e.g. a fresh primary
            # after failover): EVAL sends it and caches it.
            return int(await self._cmd("EVAL", CAS_SCRIPT, 1, key, old, new, ttl, key=key))
