"""The stored form of a session.

A record is ``<write id><JSON>``: 16 hex characters naming this version of the record,
then ``{"c": created_ms, "u": user_id|null, "t": authenticated_at_ms|null,
"am": [auth methods], "a": {server attributes}, "ip": client address, "ua": agent
summary, "d": {client data}}``.

The write id makes every write safe to retry: a compare-and-set whose reply was lost
finds its own write id on the retry and reports success instead of applying twice
(the Lua scripts compare the first 16 bytes).  Server attributes (``u``, ``t``, ``am``,
``a``) are written only by trusted code: the browser API changes ``d`` alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

import orjson

WRITE_ID_LEN = 16


@dataclass(slots=True, frozen=True)
class Record:
    created_ms: int
    data: dict = field(default_factory=dict)
    user_id: str | None = None
    authenticated_at_ms: int | None = None
    auth_methods: tuple[str, ...] = ()
    attributes: dict = field(default_factory=dict)
    client_ip: str | None = None
    user_agent: str | None = None

    def with_data(self, data: dict) -> "Record":
        return replace(self, data=data)

    def encode(self) -> bytes:
        body = {"c": self.created_ms, "u": self.user_id, "t": self.authenticated_at_ms, "am": list(self.auth_methods),
                "a": self.attributes, "ip": self.client_ip, "ua": self.user_agent, "d": self.data}
        return os.urandom(WRITE_ID_LEN // 2).hex().encode() + orjson.dumps(body)


def data_size(data: dict) -> int:
    return len(orjson.dumps(data))


def decode(raw: bytes) -> Record | None:
    """The record in *raw*, or None when it is not one of ours (never raises)."""
    try:
        rec = orjson.loads(raw[WRITE_ID_LEN:])
        data = rec["d"]
        if not isinstance(data, dict):
            return None
        methods = rec.get("am") or ()
        return Record(
            created_ms=int(rec["c"]),
            data=data,
            user_id=rec.get("u"),
            authenticated_at_ms=None if rec.get("t") is None else int(rec["t"]),
            auth_methods=tuple(str(m) for m in methods),
            attributes=rec.get("a") or {},
            client_ip=rec.get("ip"),
            user_agent=rec.get("ua"),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
