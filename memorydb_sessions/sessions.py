"""Sessions on a Redis Cluster / Amazon MemoryDB: the one implementation behind the HTTP
service and the Django, Flask and ASGI integrations.

Who may do what is decided by the caller, not here: ``create``, ``read``, ``update_data``,
``rotate`` and ``delete`` are what a browser's own session may do; ``sign_in``,
``update_server``, ``reauthenticate``, ``list_sessions``, ``end_session``,
``end_other_sessions`` and ``revoke_user`` bind or act on an identity and belong to
trusted code (the application's sign-in, an authenticated backend). docs/security.md.

Every operation runs under one deadline (``SessionPolicy.store_timeout``), retries
included, and fails with an error from ``errors.py``.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace

from redis.exceptions import NoScriptError

from . import records, scripts, tokens
from .errors import (
    STORE_EXCEPTIONS,
    Conflict,
    SessionError,
    SessionLimitReached,
    SignInRevoked,
    StoreFull,
    StoreUnavailable,
    classify,
)
from .policy import SessionPolicy
from .recent import RecentValues
from .records import Record

# Every counter the core reports through Metrics.incr.
METRICS = ("SessionsCreated", "SessionReads", "SessionSlides", "SessionMisses", "SessionsExpired", "SessionsUpdated",
           "SessionsRotated", "SessionsDeleted", "SessionsRevoked", "SessionsEvicted", "StoreErrors", "StoreFull",
           "StoreBugs")
CAS_RETRIES = 32
INDEX_GRACE_MS = 60_000  # the index outlives its newest session by a minute


class DataTooLarge(SessionError):
    """The client data is larger than ``SessionPolicy.max_data_bytes``."""


class Metrics:
    """What the store reports; the service counts these as CloudWatch metrics."""

    def incr(self, name: str, n: int = 1) -> None: ...

    def store_latency(self, ms: float) -> None: ...

    def store_error(self, exc: BaseException) -> None: ...


@dataclass(slots=True)
class Session:
    token: str
    record: Record
    ttl_ms: int  # idle time left when it was read

    @property
    def handle(self) -> str:
        return tokens.handle_of(self.token)

    @property
    def data(self) -> dict:
        return self.record.data

    @property
    def user_id(self) -> str | None:
        return self.record.user_id

    @property
    def created_ms(self) -> int:
        return self.record.created_ms

    def expires_at(self, policy: SessionPolicy) -> float:
        """Absolute expiry (epoch seconds)."""
        return self.record.created_ms / 1000 + policy.absolute_lifetime

    def auth_age(self, now: float | None = None) -> float | None:
        """Seconds since the user last proved who they are; None when anonymous."""
        if self.record.authenticated_at_ms is None:
            return None
        return max(0.0, (time.time() if now is None else now) - self.record.authenticated_at_ms / 1000)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One of a user's sessions, as "my sessions" shows it: never the token."""

    handle: str
    created_at: float
    last_seen_at: float  # coarse: within the policy's idle_slide
    client_ip: str | None
    user_agent: str | None
    authenticated_at: float | None
    current: bool


def _now_ms() -> int:
    return int(time.time() * 1000)


class SessionStore:
    def __init__(self, client, policy: SessionPolicy, metrics: Metrics | None = None, *,
                 pause: Callable[[str], Awaitable[None]] | None = None) -> None:
        """*client*: a :class:`~memorydb_sessions.connection.StoreClient`. *pause*: test
        hook awaited before every store command with its name (forces interleavings)."""
        self.client = client
        self.policy = policy
        self.metrics = metrics or Metrics()
        self._pause = pause
        self.recent = RecentValues()
        self._init_lock: asyncio.Lock | None = None
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    # ---------------------------------------------------------------- plumbing
    async def _exec(self, name: str, commands: list[tuple], key: str) -> list:
        if self._pause is not None:
            await self._pause(name)
        t0 = time.perf_counter()
        try:
            return await self.client.fast.pipeline(commands, key=key)
        except STORE_EXCEPTIONS as exc:
            if isinstance(exc, NoScriptError):
                raise
            error = classify(exc)
            self._count_error(error, exc)
            raise error from exc
        finally:
            self.metrics.store_latency((time.perf_counter() - t0) * 1000)

    def _count_error(self, error: SessionError, exc: BaseException) -> None:
        self.metrics.incr("StoreFull" if isinstance(error, StoreFull) else
                          "StoreErrors" if isinstance(error, StoreUnavailable) else "StoreBugs")
        self.metrics.store_error(exc)

    async def _script(self, script: scripts.Script, keys: list[str], args: list) -> object:
        try:
            (reply,) = await self._exec(script.name, [("EVALSHA", script.sha, len(keys), *keys, *args)], keys[0])
        except NoScriptError:
            # A node that has not seen the script yet (a fresh primary after failover): EVAL
            # sends it and caches it.
            (reply,) = await self._exec(script.name, [("EVAL", script.source, len(keys), *keys, *args)], keys[0])
        return reply

    async def _deadline(self, operation: Coroutine):
        """One deadline for the whole operation, whatever the fast path and redis-py retry."""
        if getattr(self.client.cluster, "_initialize", False):
            try:
                await self._learn_slot_map()
            except BaseException:
                operation.close()  # never started: close it rather than leave it un-awaited
                raise
        try:
            async with asyncio.timeout(self.policy.store_timeout):
                return await operation
        except TimeoutError as exc:
            self.metrics.incr("StoreErrors")
            raise StoreUnavailable("deadline exceeded") from exc

    async def _learn_slot_map(self) -> None:
        """A fresh client first learns the cluster's slot map (a TLS handshake with a node, then
        CLUSTER SLOTS): connection set-up, not a store operation, so it gets a budget of its own
        rather than eating the first operation's deadline."""
        if self._init_lock is None:
            self._init_lock = asyncio.Lock()
        async with self._init_lock:
            if not getattr(self.client.cluster, "_initialize", False):
                return
            try:
                async with asyncio.timeout(max(5.0, 10 * self.policy.store_timeout)):
                    await self.client.initialize()
            except (TimeoutError, *STORE_EXCEPTIONS) as exc:
                self.metrics.incr("StoreErrors")
                raise StoreUnavailable(f"cannot reach the store: {type(exc).__name__}") from exc

    def _ttl_ms(self, record: Record, now_ms: int) -> int:
        """The idle TTL, never past the absolute expiry."""
        return max(1, min(self.policy.idle_timeout * 1000, self._remaining_ms(record, now_ms)))

    def _remaining_ms(self, record: Record, now_ms: int) -> int:
        return record.created_ms + self.policy.absolute_lifetime * 1000 - now_ms

    def _check_size(self, data: dict) -> None:
        if records.data_size(data) > self.policy.max_data_bytes:
            raise DataTooLarge(f"session data larger than {self.policy.max_data_bytes} bytes")

    # ------------------------------------------------------- a browser's own session
    async def ping(self) -> None:
        await self._deadline(self._exec("ping", [("PING",)], "ping"))

    async def create(self, data: dict | None = None, *, client_ip: str | None = None,
                     user_agent: str | None = None) -> Session:
        """A new anonymous session."""
        record = Record(created_ms=_now_ms(), data=data or {}, client_ip=client_ip, user_agent=user_agent)
        return await self._deadline(self._create(tokens.new_token(), record))

    async def read(self, token: str) -> Session | None:
        """The live session of *token*, or None. One round trip (GET and PTTL pipelined);
        the idle expiry is slid only when it is ``idle_slide`` stale, so most reads write
        nothing."""
        if not tokens.is_token(token):
            return None
        return await self._deadline(self._read(token))

    async def update_data(self, token: str, change: dict | Callable[[dict], dict]) -> Session | None:
        """Replace the client data with *change* (or ``change(current data)``), atomically
        (compare-and-set, retried on conflict). Server attributes are never touched."""
        return await self._update(token, lambda rec: rec.with_data(change(rec.data) if callable(change) else change))

    async def rotate(self, token: str) -> Session | None:
        """A new token for the same session (same slot, same index entry); the old one dies
        in the same step."""
        if not tokens.is_token(token):
            return None
        return await self._deadline(self._rotate(token))

    async def delete(self, token: str) -> bool:
        if not tokens.is_token(token):
            return False
        key = tokens.session_key(token)
        self.recent.drop(key)
        ended = await self._deadline(self._script(scripts.DELETE, [key], [tokens.handle_of(token), _index_prefix(token)]))
        if ended:
            self.metrics.incr("SessionsDeleted")
        return bool(ended)

    # ------------------------------------------------------------- trusted code only
    async def sign_in(self, user_id: str, *, authenticated_at_ms: int, methods: tuple[str, ...] = ("password",),
                      attributes: dict | None = None, data: dict | None = None, replaces: str | None = None,
                      client_ip: str | None = None, user_agent: str | None = None) -> Session:
        """Bind *user_id* to a NEW session (a new token, never the old one: no fixation) and
        end *replaces* (the session the user signed in from).

        *authenticated_at_ms*: when the credentials were proven. If the user revoked every
        session after that moment, the sign-in is refused (:class:`SignInRevoked`): a
        password check that raced "log out everywhere" cannot mint a session after it.
        At the cap, the oldest session ends or :class:`SessionLimitReached` is raised."""
        record = Record(created_ms=_now_ms(), data=data or {}, user_id=user_id, authenticated_at_ms=authenticated_at_ms,
                        auth_methods=tuple(methods), attributes=attributes or {}, client_ip=client_ip,
                        user_agent=user_agent)
        session = await self._deadline(self._create(tokens.new_token(user_id), record))
        if replaces is not None and replaces != session.token:
            await self.delete(replaces)
        return session

    async def update_server(self, token: str, change: Callable[[Record], Record]) -> Session | None:
        """Change server attributes (roles, auth facts) of a session, atomically. The user id
        cannot change: sign in instead (a new token)."""
        def guarded(rec: Record) -> Record:
            new = change(rec)
            if new.user_id != rec.user_id or new.created_ms != rec.created_ms:
                raise ValueError("update_server cannot change the user or the creation time: use sign_in")
            return new

        return await self._update(token, guarded)

    async def reauthenticate(self, token: str, methods: tuple[str, ...] = ("password",)) -> Session | None:
        """Record a fresh proof of identity on a signed-in session (step-up)."""
        now = _now_ms()
        return await self.update_server(token, lambda rec: replace(
            rec, authenticated_at_ms=now, auth_methods=tuple(dict.fromkeys((*rec.auth_methods, *methods)))))

    async def list_sessions(self, user_id: str, *, current: str | None = None) -> list[SessionInfo]:
        prefix = tokens.slot_prefix(tokens.user_tag(user_id))
        flat = await self._deadline(self._script(scripts.LIST, [tokens.index_key(user_id)], [prefix]))
        now_ms = _now_ms()
        current_handle = tokens.handle_of(current) if current and tokens.is_token(current) else None
        out = []
        for i in range(0, len(flat), 3):
            handle, raw, pttl = flat[i].decode(), flat[i + 1], int(flat[i + 2])
            rec = records.decode(raw)
            if rec is None or self._remaining_ms(rec, now_ms) <= 0:
                continue
            idle_ms = self.policy.idle_timeout * 1000
            last_seen = max(rec.created_ms, now_ms - max(0, idle_ms - pttl)) if pttl <= idle_ms else rec.created_ms
            out.append(SessionInfo(
                handle=handle, created_at=rec.created_ms / 1000, last_seen_at=last_seen / 1000,
                client_ip=rec.client_ip, user_agent=rec.user_agent,
                authenticated_at=None if rec.authenticated_at_ms is None else rec.authenticated_at_ms / 1000,
                current=handle == current_handle))
        return out

    async def end_session(self, user_id: str, handle: str) -> bool:
        """End one of *user_id*'s own sessions by its handle (a handle of anyone else's
        session ends nothing)."""
        if not tokens.HANDLE_RE.fullmatch(handle):
            return False
        prefix = tokens.slot_prefix(tokens.user_tag(user_id))
        ended = await self._deadline(self._script(scripts.END_ONE, [tokens.index_key(user_id)], [prefix, handle]))
        self.recent.drop(prefix + handle)
        if ended:
            self.metrics.incr("SessionsRevoked")
        return bool(ended)

    async def end_other_sessions(self, user_id: str, keep: str) -> int:
        prefix = tokens.slot_prefix(tokens.user_tag(user_id))
        keep_handle = tokens.handle_of(keep) if tokens.is_token(keep) else ""
        n = int(await self._deadline(self._script(scripts.END_OTHERS, [tokens.index_key(user_id)], [prefix, keep_handle])))
        self.metrics.incr("SessionsRevoked", n)
        return n

    async def revoke_user(self, user_id: str) -> int:
        """End every session of *user_id* ("log out everywhere"), and refuse sign-ins proven
        before now."""
        prefix = tokens.slot_prefix(tokens.user_tag(user_id))
        keys = [tokens.index_key(user_id), tokens.revoked_key(user_id)]
        n = int(await self._deadline(self._script(
            scripts.REVOKE_ALL, keys, [prefix, _now_ms(), self.policy.absolute_lifetime * 1000 + INDEX_GRACE_MS])))
        self.metrics.incr("SessionsRevoked", n)
        return n

    async def hit(self, scope: str, subject: str, *, limit: int, window_seconds: int, count: bool = True) -> bool:
        """A sliding-window limit on *subject* (a client address, an account): True while
        under *limit* hits in the window (and this one is counted when *count*)."""
        member = os.urandom(8).hex() if count else ""
        allowed, _ = await self._deadline(self._script(
            scripts.RATE, [tokens.rate_key(scope, subject)], [_now_ms(), window_seconds * 1000, limit, member]))
        return bool(allowed)

    async def clear_hits(self, scope: str, subject: str) -> None:
        key = tokens.rate_key(scope, subject)
        await self._deadline(self._exec("clear", [("DEL", key)], key))

    # ----------------------------------------------------------------- internals
    async def _create(self, token: str, record: Record) -> Session:
        self._check_size(record.data)
        raw = record.encode()
        key = tokens.session_key(token)
        ttl = self._ttl_ms(record, record.created_ms)
        if record.user_id is None:
            reply = await self._script(scripts.CREATE, [key], [raw, ttl])
        else:
            user = record.user_id
            reply = await self._script(scripts.CREATE, [key, tokens.index_key(user), tokens.revoked_key(user)], [
                raw, ttl, tokens.handle_of(token), record.created_ms, self.policy.max_sessions_per_user,
                self.policy.limit_action, record.authenticated_at_ms or 0,
                self.policy.absolute_lifetime * 1000 + INDEX_GRACE_MS, tokens.slot_prefix(tokens.tag_of(token))])
        status = int(reply[0])
        if status == -2:
            raise SignInRevoked("every session of this user was revoked after the credentials were checked")
        if status == -3:
            raise SessionLimitReached(f"at most {self.policy.max_sessions_per_user} sessions per user")
        if status != 1:
            raise StoreUnavailable("session token collision")  # 2**-256: never
        if len(reply) > 1:
            self.metrics.incr("SessionsEvicted", len(reply) - 1)
        self.recent.put(key, raw)
        self.metrics.incr("SessionsCreated")
        return Session(token, record, ttl)

    async def _read(self, token: str) -> Session | None:
        key = tokens.session_key(token)
        raw, pttl = await self._exec("read", [("GET", key), ("PTTL", key)], key)
        now = _now_ms()
        session = await self._live(token, key, raw, now, pttl)
        if session is None:
            return None
        target = self._ttl_ms(session.record, now)
        # Slide lazily: only when the TTL lost idle_slide or more (and never past the
        # absolute expiry, which _ttl_ms caps). A PEXPIRE that races a revocation finds no
        # key and does nothing: it cannot bring a session back.
        if target - pttl >= self.policy.idle_slide * 1000:
            await self._exec("slide", [("PEXPIRE", key, target)], key)
            self.metrics.incr("SessionSlides")
            session.ttl_ms = target
        self.recent.put(key, raw)
        self.metrics.incr("SessionReads")
        return session

    async def _live(self, token: str, key: str, raw: bytes | None, now_ms: int, pttl: int) -> Session | None:
        if raw is None:
            self.recent.drop(key)
            self.metrics.incr("SessionMisses")
            return None
        record = records.decode(raw)
        if record is None:
            self.metrics.incr("SessionMisses")
            return None
        if self._remaining_ms(record, now_ms) <= 0:
            self.recent.drop(key)
            self.metrics.incr("SessionsExpired")
            await self._script(scripts.DELETE, [key], [tokens.handle_of(token), _index_prefix(token)])
            return None
        return Session(token, record, pttl)

    async def _update(self, token: str, change: Callable[[Record], Record]) -> Session | None:
        if not tokens.is_token(token):
            return None
        key = tokens.session_key(token)
        # Writers of one session in this process queue here (no wasted round trips); writers
        # in other processes are resolved by the compare-and-set.
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            return await self._deadline(self._compare_and_set(token, key, change))

    async def _compare_and_set(self, token: str, key: str, change: Callable[[Record], Record]) -> Session | None:
        raw = self.recent.get(key)  # expected value: what this process last saw
        for attempt in range(CAS_RETRIES):
            pttl = -1
            if raw is None:
                raw, pttl = await self._exec("read", [("GET", key), ("PTTL", key)], key)
            now = _now_ms()
            session = await self._live(token, key, raw, now, pttl)
            if session is None:
                return None
            new = change(session.record)
            self._check_size(new.data)
            new_raw = new.encode()
            ttl = self._ttl_ms(new, now)
            result = int(await self._script(scripts.COMPARE_AND_SET, [key], [raw, new_raw, ttl]))
            if result == 1:
                self.recent.put(key, new_raw)
                self.metrics.incr("SessionsUpdated")
                return Session(token, new, ttl)
            self.recent.drop(key)
            if result == 0:
                self.metrics.incr("SessionMisses")
                return None
            raw = None  # changed since we saw it: read again
            if attempt:
                await asyncio.sleep(random.uniform(0, 0.001 * attempt))
        raise Conflict("too many concurrent updates of one session")

    async def _rotate(self, token: str) -> Session | None:
        old_key = tokens.session_key(token)
        new_token = tokens.tag_of(token) + tokens.new_token()[tokens.TAG_LEN:]
        new_key = tokens.session_key(new_token)
        self.recent.drop(old_key)
        raw = await self._script(scripts.ROTATE, [old_key, new_key], [
            os.urandom(records.WRITE_ID_LEN // 2).hex(), tokens.handle_of(token), tokens.handle_of(new_token),
            _index_prefix(token)])
        if raw is None:
            self.metrics.incr("SessionMisses")
            return None
        session = await self._live(new_token, new_key, raw, _now_ms(), self.policy.idle_timeout * 1000)
        if session is None:
            return None
        self.recent.put(new_key, raw)
        self.metrics.incr("SessionsRotated")
        return session


def _index_prefix(token: str) -> str:
    """``usess:{tag}:``: the user index of a session lives in its token's slot."""
    return tokens.INDEX_PREFIX + "{" + tokens.tag_of(token) + "}:"
