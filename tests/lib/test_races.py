"""Revocation that cannot be escaped: each interleaving is forced with the store's pause
hook (awaited before every store command), not hoped for by running often.

Before this design, create wrote the index and the session in two steps, revoke read the
index and deleted in two more, and rotate deleted before indexing: each test below names
the interleaving that left a live session outside "log out everywhere"."""

from __future__ import annotations

import asyncio
import time

import pytest

from memorydb_sessions import SignInRevoked, tokens

from .conftest import run


class Gate:
    """Pauses the first command called *name* until released."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.reached = asyncio.Event()
        self.release = asyncio.Event()
        self.used = False

    async def __call__(self, command: str) -> None:
        if command == self.name and not self.used:
            self.used = True
            self.reached.set()
            await self.release.wait()


def now_ms() -> int:
    return int(time.time() * 1000)


async def _live_sessions(store, user: str) -> list[str]:
    return [s.handle for s in await store.list_sessions(user)]


def test_sign_in_proven_before_a_revocation_cannot_create_after_it(make_store):
    """Old: ZADD, (revoke: ZRANGE, DEL nothing, ZREM), SET -> a live session nobody indexes."""
    async def scenario():
        gate = Gate("create")
        async with make_store(pause=gate) as paused, make_store() as other:
            proven = now_ms()
            signing_in = asyncio.create_task(paused.sign_in("race-1", authenticated_at_ms=proven))
            await gate.reached.wait()
            await asyncio.sleep(0.002)  # the revocation happens strictly after the proof
            await other.revoke_user("race-1")
            gate.release.set()
            with pytest.raises(SignInRevoked):
                await signing_in
            assert await _live_sessions(other, "race-1") == []
    run(scenario())


def test_revocation_paused_before_its_step_still_ends_a_session_created_meanwhile(make_store):
    async def scenario():
        gate = Gate("revoke-all")
        async with make_store(pause=gate) as paused, make_store() as other:
            revoking = asyncio.create_task(paused.revoke_user("race-2"))
            await gate.reached.wait()
            created = await other.sign_in("race-2", authenticated_at_ms=now_ms())
            gate.release.set()
            assert await revoking == 1
            assert await other.read(created.token) is None
    run(scenario())


def test_rotation_racing_a_revocation_leaves_nothing_alive(make_store):
    """Old: rotate GETDEL'd the old id, then indexed the new one: a revocation in between
    missed the new id (and the restore path could bring the old one back)."""
    async def scenario():
        gate = Gate("rotate")
        async with make_store(pause=gate) as paused, make_store() as other:
            session = await other.sign_in("race-3", authenticated_at_ms=now_ms())
            rotating = asyncio.create_task(paused.rotate(session.token))
            await gate.reached.wait()
            assert await other.revoke_user("race-3") == 1
            gate.release.set()
            assert await rotating is None
            assert await _live_sessions(other, "race-3") == []
    run(scenario())


def test_a_stolen_token_that_keeps_rotating_is_still_revoked(make_store):
    async def scenario():
        async with make_store() as store:
            token = (await store.sign_in("race-4", authenticated_at_ms=now_ms())).token
            for _ in range(20):
                token = (await store.rotate(token)).token
            assert len(await _live_sessions(store, "race-4")) == 1
            assert await store.revoke_user("race-4") == 1
            assert await store.read(token) is None
    run(scenario())


def test_an_update_racing_a_revocation_does_not_resurrect(make_store):
    async def scenario():
        gate = Gate("compare-and-set")
        async with make_store(pause=gate) as paused, make_store() as other:
            session = await other.sign_in("race-5", authenticated_at_ms=now_ms(), data={"n": 1})
            updating = asyncio.create_task(paused.update_data(session.token, {"n": 2}))
            await gate.reached.wait()
            await other.revoke_user("race-5")
            gate.release.set()
            assert await updating is None
            assert await other.client.cluster.exists(tokens.session_key(session.token)) == 0
    run(scenario())


def test_a_slide_racing_a_revocation_does_not_resurrect(make_store):
    async def scenario():
        gate = Gate("slide")
        async with make_store(pause=gate, idle_timeout=600, idle_slide=1) as paused, make_store() as other:
            session = await other.sign_in("race-6", authenticated_at_ms=now_ms())
            await other.client.cluster.pexpire(tokens.session_key(session.token), 300_000)  # stale: a slide is due
            reading = asyncio.create_task(paused.read(session.token))
            await gate.reached.wait()
            await other.revoke_user("race-6")
            gate.release.set()
            await reading
            assert await other.client.cluster.exists(tokens.session_key(session.token)) == 0
    run(scenario())


def test_sign_in_replacing_a_session_racing_end_others(make_store):
    """Sign-in from device A while device B ends all other sessions: whichever goes first,
    nothing outside the user's index survives."""
    async def scenario():
        gate = Gate("create")
        async with make_store(pause=gate) as paused, make_store() as other:
            keep = await other.sign_in("race-7", authenticated_at_ms=now_ms())
            signing_in = asyncio.create_task(paused.sign_in("race-7", authenticated_at_ms=now_ms()))
            await gate.reached.wait()
            await other.end_other_sessions("race-7", keep.token)
            gate.release.set()
            fresh = await signing_in
            listed = await _live_sessions(other, "race-7")
            assert sorted(listed) == sorted([keep.handle, fresh.handle])  # every live session is indexed
            assert await other.revoke_user("race-7") == 2
    run(scenario())
