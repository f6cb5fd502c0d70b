"""The core's hardening: hashed keys, retry-safe writes, classified errors, the cap, and
reads that stay reads."""

from __future__ import annotations

import time

import pytest
from redis.exceptions import ResponseError

from memorydb_sessions import (
    SessionLimitReached,
    StoreError,
    StoreFull,
    StoreUnavailable,
    records,
    scripts,
    tokens,
)
from memorydb_sessions.errors import classify
from memorydb_sessions.records import Record

from .conftest import run


def now_ms() -> int:
    return int(time.time() * 1000)


def test_no_token_reaches_the_store(make_store, cluster):
    """A snapshot or a mis-scoped ACL user sees digests, never a token."""
    async def scenario():
        async with make_store() as store:
            made = [await store.create({"n": 1}), await store.sign_in("hk-user", authenticated_at_ms=now_ms())]
            dump = b""
            async for key in store.client.cluster.scan_iter(count=1000):
                dump += key
                if key.startswith(b"sess:"):
                    dump += await store.client.cluster.get(key)
            for session in made:
                assert session.token.encode() not in dump
                assert session.token[tokens.TAG_LEN:].encode() not in dump  # not even the secret part
                assert tokens.handle_of(session.token).encode() in dump
    run(scenario())


def test_every_write_script_is_safe_to_run_twice(make_store):
    """A retry after a lost reply re-sends the same script: it must report success without
    applying twice (the old SET NX orphaned, the old CAS applied twice, GETDEL lost data)."""
    async def scenario():
        async with make_store() as store:
            token = tokens.new_token("retry-user")
            key = tokens.session_key(token)
            record = Record(created_ms=now_ms(), user_id="retry-user", authenticated_at_ms=now_ms())
            raw = record.encode()
            args = [raw, 60_000, tokens.handle_of(token), record.created_ms, 10, "evict-oldest", now_ms(), 120_000,
                    tokens.slot_prefix(tokens.tag_of(token))]
            keys = [key, tokens.index_key("retry-user"), tokens.revoked_key("retry-user")]
            assert (await store._script(scripts.CREATE, keys, args))[0] == 1
            assert (await store._script(scripts.CREATE, keys, args))[0] == 1
            assert len(await store.list_sessions("retry-user")) == 1

            new = record.with_data({"n": 1}).encode()
            assert await store._script(scripts.COMPARE_AND_SET, [key], [raw, new, 60_000]) == 1
            assert await store._script(scripts.COMPARE_AND_SET, [key], [raw, new, 60_000]) == 1  # its own write id
            assert await store.client.cluster.get(key) == new

            rotated = tokens.tag_of(token) + tokens.new_token()[tokens.TAG_LEN:]
            rotate_args = ["0123456789abcdef", tokens.handle_of(token), tokens.handle_of(rotated),
                           "usess:{" + tokens.tag_of(token) + "}:"]
            first = await store._script(scripts.ROTATE, [key, tokens.session_key(rotated)], rotate_args)
            again = await store._script(scripts.ROTATE, [key, tokens.session_key(rotated)], rotate_args)
            assert first == again and records.decode(first).data == {"n": 1}
            assert [s.handle for s in await store.list_sessions("retry-user")] == [tokens.handle_of(rotated)]
    run(scenario())


def test_cap_evicts_the_oldest_or_refuses(make_store):
    async def scenario():
        async with make_store(max_sessions_per_user=2) as store:
            first = await store.sign_in("cap-user", authenticated_at_ms=now_ms())
            second = await store.sign_in("cap-user", authenticated_at_ms=now_ms())
            third = await store.sign_in("cap-user", authenticated_at_ms=now_ms())
            assert await store.read(first.token) is None
            assert {s.handle for s in await store.list_sessions("cap-user")} == {second.handle, third.handle}
        async with make_store(max_sessions_per_user=2, limit_action="refuse") as store:
            with pytest.raises(SessionLimitReached):
                await store.sign_in("cap-user", authenticated_at_ms=now_ms())
            assert await store.read(second.token) is not None
    run(scenario())


def test_the_user_index_stays_bounded(make_store):
    async def scenario():
        async with make_store(max_sessions_per_user=3) as store:
            for _ in range(10):
                session = await store.sign_in("bound-user", authenticated_at_ms=now_ms())
                await store.delete(session.token)
                await store.sign_in("bound-user", authenticated_at_ms=now_ms())
            assert await store.client.cluster.zcard(tokens.index_key("bound-user")) <= 3
    run(scenario())


def test_lazy_slide_writes_only_when_stale(make_store):
    async def scenario():
        async with make_store(idle_timeout=600, idle_slide=60) as store:
            session = await store.create({"a": 1})
            key = tokens.session_key(session.token)
            await store.client.cluster.pexpire(key, 570_000)  # 30 s stale: no write
            await store.read(session.token)
            assert await store.client.cluster.pttl(key) <= 570_000
            await store.client.cluster.pexpire(key, 500_000)  # 100 s stale: slides back
            await store.read(session.token)
            assert await store.client.cluster.pttl(key) > 590_000
    run(scenario())


def test_store_errors_are_classified():
    assert isinstance(classify(ResponseError("OOM command not allowed when used memory > 'maxmemory'.")), StoreFull)
    assert isinstance(classify(ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value")),
                      StoreError)
    assert isinstance(classify(ResponseError("CLUSTERDOWN The cluster is down")), StoreUnavailable)
    assert isinstance(classify(ConnectionResetError()), StoreUnavailable)
    assert not isinstance(classify(ResponseError("ERR Error running script")), StoreUnavailable)


def test_a_wrongtype_key_is_a_bug_not_an_outage(make_store):
    async def scenario():
        async with make_store() as store:
            session = await store.create({"a": 1})
            key = tokens.session_key(session.token)
            await store.client.cluster.delete(key)
            await store.client.cluster.lpush(key, b"x")
            with pytest.raises(StoreError):
                await store.read(session.token)
            await store.client.cluster.delete(key)
    run(scenario())


def test_store_out_of_memory_is_store_full(make_store, cluster):
    async def scenario():
        async with make_store() as store:
            token = tokens.new_token()
            node = store.client.cluster.get_node_from_key(tokens.session_key(token))
            cluster_client = store.client.cluster
            await cluster_client.execute_command("CONFIG", "SET", "maxmemory-policy", "noeviction", target_nodes=node)
            await cluster_client.execute_command("CONFIG", "SET", "maxmemory", "1", target_nodes=node)
            try:
                with pytest.raises(StoreFull):
                    await store._deadline(store._create(token, Record(created_ms=now_ms(), data={"x": 1})))
            finally:
                await cluster_client.execute_command("CONFIG", "SET", "maxmemory", "0", target_nodes=node)
    run(scenario())


def test_the_documented_deadline_holds_when_a_node_stops_answering(store_config, cluster):
    """One deadline for the whole operation: the fast path's give-up and redis-py's retries
    happen inside it (the old fast path waited a full deadline, then the slow path another)."""
    import asyncio
    import os
    import signal

    from memorydb_sessions import SessionPolicy, SessionStore, StoreClient

    async def scenario():
        client = StoreClient(store_config)
        await client.initialize()
        store = SessionStore(client, SessionPolicy(store_timeout=1.0))
        try:
            session = await store.create({"a": 1})
            node = client.cluster.get_node_from_key(tokens.session_key(session.token))
            victim = next(n for n in cluster.nodes if n.port == node.port)
            os.kill(victim.proc.pid, signal.SIGSTOP)
            try:
                started = asyncio.get_running_loop().time()
                with pytest.raises(StoreUnavailable):
                    await store.read(session.token)
                elapsed = asyncio.get_running_loop().time() - started
            finally:
                os.kill(victim.proc.pid, signal.SIGCONT)
            # The bound of the contract (1 s) plus scheduling slack, far below the old 2 s.
            assert elapsed < 1.5, elapsed
        finally:
            await client.aclose()
    run(scenario())


def test_the_readme_table_is_the_declared_variables():
    """memorydb_sessions/README.md's configuration table is made from `VARIABLES` (one declaration)."""
    from memorydb_sessions.environment import README, readme_with_table

    text = README.read_text()
    assert readme_with_table(text) == text, "stale: run `python -m memorydb_sessions.environment --write-doc`"


def test_every_declared_variable_is_read_and_checked():
    """Each integer variable's range is enforced as declared, naming the variable."""
    from memorydb_sessions import ConfigurationError
    from memorydb_sessions.environment import VARIABLES, policy_from_env, store_config_from_env

    base = {"SESSION_STORE_ENDPOINT": "h"}
    for v in VARIABLES.values():
        if v.low is None:
            continue
        for bad in (v.low - 1, v.high + 1):
            with pytest.raises(ConfigurationError, match=v.env):
                store_config_from_env({**base, v.env: str(bad)})
                policy_from_env({**base, v.env: str(bad)})
