"""The reference application's user directory: accounts with scrypt password hashes,
kept in the store beside their sessions (``dir:{<user tag>}:<name>``, the user's slot).

Hashing costs ~50 ms of CPU on purpose, so it runs in a worker thread, never on the event
loop. An unknown name is checked against a dummy hash, so both failures cost the same time
and get the same answer. Managed with ``python -m app users add|remove|list``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import re

import orjson

from memorydb_sessions import tokens

NAME_RE = re.compile(r"[a-z0-9][a-z0-9._@+-]{0,63}")
MIN_PASSWORD = 8
MAX_PASSWORD = 256
# OWASP Password Storage Cheat Sheet: scrypt N=2^17, r=8, p=1 is the first choice; 2^15
# keeps a 0.25 vCPU task answering sign-ins in ~100 ms. Stored with each hash, so it can rise.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


class DirectoryError(ValueError):
    """A name or password breaks a rule; the message says which."""


def directory_key(name: str) -> str:
    return tokens.DIRECTORY_PREFIX + "{" + tokens.user_tag(name) + "}:" + name


def check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise DirectoryError("user name must be 1-64 characters of a-z 0-9 . _ @ + - (lower case, starting alphanumeric)")
    return name


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_password(password: str, *, n: int = SCRYPT_N) -> dict:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise DirectoryError(f"password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters")
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, maxmem=128 * 1024 * 1024)
    return {"alg": "scrypt", "n": n, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt), "hash": _b64(digest)}


_DUMMY = hash_password("not-a-real-password-" + os.urandom(8).hex())


def verify_password(password: str, entry: dict | None) -> bool:
    """Constant work whether or not the user exists."""
    target = entry or _DUMMY
    try:
        digest = hashlib.scrypt(password.encode()[:MAX_PASSWORD * 4], salt=base64.b64decode(target["salt"]),
                                n=int(target["n"]), r=int(target["r"]), p=int(target["p"]), maxmem=128 * 1024 * 1024)
        ok = hmac.compare_digest(digest, base64.b64decode(target["hash"]))
    except (KeyError, ValueError, TypeError):
        return False
    return ok and entry is not None


class Directory:
    def __init__(self, cluster) -> None:
        """*cluster*: the store's redis-py ``RedisCluster``."""
        self.cluster = cluster

    async def lookup(self, name: str) -> dict | None:
        if not NAME_RE.fullmatch(name):
            return None
        raw = await self.cluster.get(directory_key(name))
        return orjson.loads(raw) if raw else None

    async def verify(self, name: str, password: str) -> bool:
        entry = await self.lookup(name)
        return await asyncio.to_thread(verify_password, password, entry)

    async def add(self, name: str, password: str) -> None:
        check_name(name)
        entry = await asyncio.to_thread(hash_password, password)
        await self.cluster.set(directory_key(name), orjson.dumps(entry))

    async def remove(self, name: str) -> bool:
        return bool(await self.cluster.delete(directory_key(check_name(name))))

    async def names(self) -> list[str]:
        out = []
        async for key in self.cluster.scan_iter(match=tokens.DIRECTORY_PREFIX + "*", count=500):
            out.append(key.decode().split("}:", 1)[1])
        return sorted(out)
