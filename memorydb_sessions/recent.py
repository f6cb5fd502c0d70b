"""The last value this process read or wrote per session, bounded (LRU).

Used only as the *expected* value of a compare-and-set, so a stale entry costs one extra
round trip, never correctness: a write right after a read on the same process is one
round trip instead of two."""

from __future__ import annotations

from collections import OrderedDict


class RecentValues:
    def __init__(self, max_entries: int = 4096, max_bytes: int = 8 * 1024 * 1024) -> None:
        self._d: OrderedDict[str, bytes] = OrderedDict()
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0

    def get(self, key: str) -> bytes | None:
        raw = self._d.get(key)
        if raw is not None:
            self._d.move_to_end(key)
        return raw

    def put(self, key: str, raw: bytes) -> None:
        self.drop(key)
        self._d[key] = raw
        self.bytes += len(raw)
        while self._d and (len(self._d) > self.max_entries or self.bytes > self.max_bytes):
            _, dropped = self._d.popitem(last=False)
            self.bytes -= len(dropped)

    def drop(self, key: str) -> None:
        old = self._d.pop(key, None)
        if old is not None:
            self.bytes -= len(old)
