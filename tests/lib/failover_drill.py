"""The failover drill every framework integration passes: a primary killed during traffic.
Requests to its shard answer 503 (never 500) while the replica is promoted, then every request
works again, and no acknowledged session is lost: each session reads back with its last write
answered 200, or with a later one answered 503 (which may have landed).

The sync integrations (Django, Flask) drive it through `run_threaded`; the ASGI drill keeps its
own event-loop traffic and shares `Outcome` and its checks."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

# The issue asks for requests working again within 5 s: a measured figure (docs/reliability.md,
# "Framework integrations"), not a timed assertion. The drill asserts recovery itself, bounded
# only by what a starved shared CI machine can take (all suites run in parallel on two cores).
RECOVERY_LIMIT_S = 30.0
SESSIONS = 30


class Browser(Protocol):
    """One cookie jar of a framework's test client, seen as the drill needs it."""

    def write(self, value: str) -> int: ...  # the status of `/write?n=<value>`
    def read(self) -> tuple[int, str | None]: ...  # the status of `/read` and the value it holds
    def twin(self) -> Browser: ...  # a new client with the same session cookie (one per thread)


@dataclass
class Outcome:
    """What the traffic saw: status counts, the last value each session had confirmed and the
    values written since then without an answer of 200."""

    codes: Counter = field(default_factory=Counter)
    acknowledged: dict[int, str] = field(default_factory=dict)
    unconfirmed: dict[int, set[str]] = field(default_factory=dict)
    recovery_s: float | None = None
    lost: list = field(default_factory=list)

    def record(self, idx: int, value: str, status: int) -> None:
        self.codes[status] += 1
        if status == 200:
            self.acknowledged[idx], self.unconfirmed[idx] = value, set()
        else:
            self.unconfirmed.setdefault(idx, set()).add(value)

    def check_read(self, idx: int, value: str | None) -> None:
        if value not in {self.acknowledged[idx]} | self.unconfirmed.get(idx, set()):
            self.lost.append((idx, value))

    def assert_passed(self) -> None:
        assert self.recovery_s is not None, "requests did not work again after the failover"
        print(f"recovered {self.recovery_s:.1f}s after the kill; {dict(self.codes)}")
        # From the kill to every shard answering (RECOVERY_LIMIT_S says why this is no timing test).
        assert self.recovery_s < RECOVERY_LIMIT_S, f"recovery took {self.recovery_s:.1f}s"
        assert self.codes[500] == 0 and set(self.codes) <= {200, 503}, self.codes
        assert self.codes[200] > 0
        assert self.lost == []  # no acknowledged session lost


def _wait_for_recovery(statuses: Callable[[], list[int]], killed_at: float) -> float | None:
    """Seconds from the kill until every session reads 200; None after a minute."""
    while time.monotonic() < killed_at + 60:
        seen = statuses()
        assert set(seen) <= {200, 503}, seen
        if all(s == 200 for s in seen):
            return time.monotonic() - killed_at
        time.sleep(0.1)
    return None


def run_threaded(cluster, new_browser: Callable[[], Browser]) -> Outcome:
    """The drill through a sync framework's request cycle: one thread writes to every session
    while the checker's own clients read until all answer 200 again."""
    browsers = [new_browser() for _ in range(SESSIONS)]
    outcome = Outcome()
    for idx, browser in enumerate(browsers):
        assert browser.write(str(idx)) == 200
        outcome.acknowledged[idx] = str(idx)
    readers = [browser.twin() for browser in browsers]
    stop = threading.Event()

    def traffic() -> None:
        n = 0
        while not stop.is_set():
            for idx, browser in enumerate(browsers):
                if stop.is_set():
                    break
                n += 1
                outcome.record(idx, f"w{n}", browser.write(f"w{n}"))
            time.sleep(0.01)

    writer = threading.Thread(target=traffic)
    writer.start()
    try:
        time.sleep(1.0)
        victim = cluster.kill_primary(0)
        killed_at = time.monotonic()
        outcome.recovery_s = _wait_for_recovery(lambda: [r.read()[0] for r in readers], killed_at)
    finally:
        stop.set()
        writer.join(30)
    for idx, browser in enumerate(browsers):
        outcome.check_read(idx, browser.read()[1])
    cluster.start_node(victim)
    assert len(cluster.primary_nodes()) == 3
    return outcome
