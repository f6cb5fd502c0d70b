"""A small, bounded load generator for the failure drills (and for trying the demo by hand).

It creates a set of sessions through the load balancer, then drives a steady mix of reads
(GET) and writes (PATCH) over them until it has sent `max_requests` requests, or
`max_seconds` have passed, or it is told to stop, whichever comes first. It talks to
127.0.0.1 only.

Every request is recorded: when it was sent and answered (seconds since the run started),
what it was, and its outcome (HTTP status or exception class). Each write adds one new key
to its session (`{"w17": 17}`, a JSON Merge Patch), and the answer of an acknowledged write
(200 with the key in the returned data) is remembered; each worker owns its own sessions, so
a session's writes are sequential and "acknowledged" is unambiguous. `verify()` then reads
every session back: a session that answers 401 was lost; a key that was acknowledged but is
missing is an acknowledged write lost. Reads during the run check the same thing (a read
that misses an acknowledged key is a stale read).

    with BackgroundLoad("http://127.0.0.1:8080", max_seconds=30) as load:
        time.sleep(2); load.mark("kill"); kill_something(); time.sleep(8)
    summary = load.summary()     # stopped and verified on leaving the block

    python -m localdev.load http://127.0.0.1:8080 --seconds 10 --rate 100
    python -m localdev.load --report .build/drills      # the drills' numbers as a Markdown table
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

import httpx

LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}
MAX_KEYS_PER_SESSION = 120  # well under the service's 256 keys and 4 KiB payload limits


@dataclass
class Record:
    start: float  # seconds since the run started
    end: float
    op: str  # create | read | write | verify
    session: int
    outcome: str  # "200", "503", or an exception class name ("ReadTimeout", ...)
    ok: bool
    acked: str | None = None  # the key an acknowledged write added
    served_by: str | None = None


@dataclass
class SessionState:
    index: int
    cookie: str
    next_write: int = 0
    acked: set[str] = field(default_factory=set)
    lost: bool = False
    missing: list[str] = field(default_factory=list)  # acknowledged keys not found at verify


def _failure_kind(outcome: str) -> str:
    return f"http {outcome}" if outcome.isdigit() else outcome


class LoadGenerator:
    def __init__(self, base_url: str, *, sessions: int = 48, concurrency: int = 8, rate: float = 100.0,
                 write_ratio: float = 0.4, max_requests: int = 5000, max_seconds: float = 30.0,
                 timeout: float = 5.0, seed: int | None = None) -> None:
        host = urlsplit(base_url).hostname
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"the load generator only talks to 127.0.0.1, not {host!r}")
        if max_requests <= 0 or max_seconds <= 0:
            raise ValueError("max_requests and max_seconds must be positive: the load is always bounded")
        self.base_url = base_url.rstrip("/")
        self.session_count = sessions
        self.concurrency = max(1, min(concurrency, sessions))
        self.rate = rate
        self.write_ratio = write_ratio
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self.timeout = timeout
        self.random = random.Random(seed)
        self.records: list[Record] = []
        self.sessions: list[SessionState] = []
        self.marks: dict[str, float] = {}
        self.stale_reads = 0
        self.bad_acks = 0
        self.verified = False
        self.verify_unreadable = 0
        self._origin = time.monotonic()
        self._stop = threading.Event()
        self._sent = 0

    # ------------------------------------------------------------------ timing
    def now(self) -> float:
        return time.monotonic() - self._origin

    def mark(self, name: str) -> float:
        """Remember when an event (a kill, a drain, ...) happened, on the run's clock."""
        self.marks[name] = self.now()
        return self.marks[name]

    def stop(self) -> None:
        self._stop.set()

    # ---------------------------------------------------------------- requests
    async def _request(self, client: httpx.AsyncClient, op: str, session: int, method: str, path: str,
                       cookie: str | None = None, body: dict | None = None) -> tuple[Record, httpx.Response | None]:
        headers = {"cookie": cookie} if cookie else {}
        headers["x-session-request"] = "1"  # as the page's script marks its requests (forgery check)
        start = self.now()
        response = None
        try:
            response = await client.request(method, self.base_url + path, headers=headers, json=body)
            outcome = str(response.status_code)
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        record = Record(start=start, end=self.now(), op=op, session=session, outcome=outcome,
                        ok=response is not None and response.status_code < 300,
                        served_by=response.headers.get("x-served-by") if response is not None else None)
        self.records.append(record)
        return record, response

    async def create_sessions(self, client: httpx.AsyncClient, attempts: int = 5) -> None:
        """Create the working set before the run (retried: the drill has not started yet)."""
        for index in range(self.session_count):
            for attempt in range(attempts):
                record, response = await self._request(client, "create", index, "POST", "/api/session",
                                                       body={"data": {"load": index}})
                if record.ok and response is not None and "sid" in response.cookies:
                    self.sessions.append(SessionState(index, f"sid={response.cookies['sid']}"))
                    break
                await asyncio.sleep(0.2 * (attempt + 1))
            else:
                raise RuntimeError(f"could not create session {index}: {record.outcome}")

    async def _worker(self, client: httpx.AsyncClient, owned: list[SessionState], ticket: itertools.count,
                      started: float) -> None:
        deadline = started + self.max_seconds
        while not self._stop.is_set():
            number = next(ticket)
            if number >= self.max_requests:
                return
            due = started + number / self.rate  # steady pacing, shared by all workers
            delay = due - self.now()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.now() >= deadline or self._stop.is_set():
                return
            session = self.random.choice(owned)
            self._sent += 1
            write = self.random.random() < self.write_ratio and session.next_write < MAX_KEYS_PER_SESSION
            if write:
                key = f"w{session.next_write}"
                session.next_write += 1
                record, response = await self._request(client, "write", session.index, "PATCH", "/api/session",
                                                       session.cookie, {key: session.next_write - 1})
                if record.ok and response is not None:
                    if response.json().get("data", {}).get(key) == session.next_write - 1:
                        record.acked = key
                        session.acked.add(key)
                    else:
                        record.ok, record.outcome = False, "bad-ack"
                        self.bad_acks += 1
            else:
                record, response = await self._request(client, "read", session.index, "GET", "/api/session",
                                                       session.cookie)
                if record.ok and response is not None:
                    data = response.json().get("data", {})
                    if any(key not in data for key in session.acked):
                        self.stale_reads += 1

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=self.concurrency + 2, max_keepalive_connections=self.concurrency + 2)
        async with httpx.AsyncClient(timeout=self.timeout, limits=limits, trust_env=False) as client:
            if not self.sessions:
                await self.create_sessions(client)
            self.marks.setdefault("load_start", self.now())
            started = self.now()
            ticket = itertools.count()
            shares = [self.sessions[i::self.concurrency] for i in range(self.concurrency)]
            await asyncio.gather(*(self._worker(client, owned, ticket, started) for owned in shares))
            self.marks["load_end"] = self.now()

    async def verify(self, patience: float = 30.0) -> None:
        """Read every session back (retrying 503s and errors for up to `patience` seconds)."""
        async with httpx.AsyncClient(timeout=self.timeout, trust_env=False) as client:
            deadline = self.now() + patience
            for session in self.sessions:
                while True:
                    record, response = await self._request(client, "verify", session.index, "GET", "/api/session",
                                                           session.cookie)
                    if response is not None and response.status_code in (200, 401):
                        break
                    if self.now() > deadline:
                        self.verify_unreadable += 1
                        break
                    await asyncio.sleep(0.2)
                if response is None or response.status_code not in (200, 401):
                    continue
                if response.status_code == 401:
                    session.lost = True
                    continue
                data = response.json().get("data", {})
                session.missing = sorted(k for k in session.acked if k not in data)
        self.verified = True

    # ----------------------------------------------------------------- results
    def summary(self) -> dict:
        load = [r for r in list(self.records) if r.op in ("read", "write")]
        failures = [r for r in load if not r.ok]
        successes = sorted(r.end for r in load if r.ok)
        begin = self.marks.get("load_start", 0.0)
        end = self.marks.get("load_end", self.now())
        points = [begin, *successes, end]
        max_gap = max((b - a for a, b in zip(points, points[1:])), default=0.0)
        statuses = Counter(r.outcome for r in load)
        result = {
            "requests": len(load),
            "reads": sum(r.op == "read" for r in load),
            "writes": sum(r.op == "write" for r in load),
            "succeeded": len(load) - len(failures),
            "failed": len(failures),
            "failures_by_kind": dict(Counter(_failure_kind(r.outcome) for r in failures)),
            "status_counts": dict(statuses),
            "http_500": statuses.get("500", 0),
            "max_gap_without_success_s": round(max_gap, 2),
            "duration_s": round(end - begin, 2),
            "acknowledged_writes": sum(len(s.acked) for s in self.sessions),
            "stale_reads": self.stale_reads,
            "bad_acks": self.bad_acks,
            "sessions": len(self.sessions),
            "served_by": dict(Counter(r.served_by for r in load if r.served_by)),
            "marks_s": {k: round(v - begin, 2) for k, v in self.marks.items()},
        }
        if self.verified:
            result["sessions_lost"] = sum(s.lost for s in self.sessions)
            result["acknowledged_writes_lost"] = sum(len(s.missing) for s in self.sessions)
            result["sessions_unreadable_at_verify"] = self.verify_unreadable
        for name, at in self.marks.items():
            if name in ("load_start", "load_end"):
                continue
            result.setdefault("events", {})[name] = self.event_summary(at)
        return result

    def event_summary(self, at: float) -> dict:
        """What happened after an event at `at` (seconds on the run's clock are relative to it):
        failures among requests answered after it, and `recovery_s`: when the last failed
        request was answered; every answer after that was a success (0 when nothing failed)."""
        load = [r for r in list(self.records) if r.op in ("read", "write")]
        failed = [r for r in load if r.end >= at and not r.ok]
        first_failure = min((r.end for r in failed), default=None)
        last_failure = max((r.end for r in failed), default=None)
        last_failed_sent = max((r.start for r in failed), default=None)
        return {
            "failed_after": len(failed),
            "failures_by_kind": dict(Counter(_failure_kind(r.outcome) for r in failed)),
            "first_failure_s": None if first_failure is None else round(first_failure - at, 2),
            "last_failure_s": None if last_failure is None else round(last_failure - at, 2),
            "last_failed_request_sent_s": None if last_failed_sent is None else round(last_failed_sent - at, 2),
            "recovery_s": 0.0 if last_failure is None else round(max(0.0, last_failure - at), 2),
            "writes_acked_in_last_second_before": sum(1 for r in load if r.acked and at - 1.0 <= r.end < at),
            # The first few failures, on the event's clock: [op, outcome, sent, answered].
            "failed_sample": [[r.op, r.outcome, round(r.start - at, 2), round(r.end - at, 2)]
                              for r in sorted(failed, key=lambda r: r.start)[:5]],
        }


class BackgroundLoad:
    """Run a LoadGenerator in a thread (its own event loop) while the caller breaks things.
    Leaving the block stops the load, waits for it, and verifies every session."""

    def __init__(self, base_url: str, verify_patience: float = 30.0, **options) -> None:
        self.generator = LoadGenerator(base_url, **options)
        self.verify_patience = verify_patience
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._ready = threading.Event()

    def __enter__(self) -> "BackgroundLoad":
        self._thread = threading.Thread(target=self._main, name="load", daemon=True)
        self._thread.start()
        # Wait until the sessions exist and the steady load has begun.
        while not self._ready.wait(0.05):
            if not self._thread.is_alive():
                break
        if self._error is not None:
            raise self._error
        return self

    def _main(self) -> None:
        async def main():
            task = asyncio.create_task(self.generator.run())
            while "load_start" not in self.generator.marks and not task.done():
                await asyncio.sleep(0.02)
            self._ready.set()
            await task

        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            self._error = exc
        finally:
            self._ready.set()

    def mark(self, name: str) -> float:
        return self.generator.mark(name)

    def sleep_until(self, seconds_after_start: float) -> None:
        """Sleep until the load has run this long (on the run's clock)."""
        start = self.generator.marks.get("load_start", 0.0)
        time.sleep(max(0.0, start + seconds_after_start - self.generator.now()))

    def __exit__(self, *exc) -> None:
        self.generator.stop()
        if self._thread is not None:
            self._thread.join(self.generator.max_seconds + self.generator.timeout + 10)
        if self._error is not None and exc[0] is None:
            raise self._error
        if exc[0] is None:
            asyncio.run(self.generator.verify(self.verify_patience))

    def summary(self) -> dict:
        return self.generator.summary()


REPORT_COLUMNS = [  # (heading, key in a drill's JSON)
    ("requests", "requests"), ("failed", "failed"), ("failures", "failures_by_kind"),
    ("max gap without a success (s)", "max_gap_without_success_s"), ("recovery (s)", "recovery_s"),
    ("sessions lost", "sessions_lost"), ("acknowledged writes", "acknowledged_writes"),
    ("acknowledged writes lost", "acknowledged_writes_lost"),
]


def render_report(directory: str) -> str:
    """A Markdown table of the drills' JSON files (.build/drills/*.json), for docs/reliability.md."""
    from pathlib import Path

    rows = ["| drill | " + " | ".join(h for h, _ in REPORT_COLUMNS) + " |",
            "|---" * (len(REPORT_COLUMNS) + 1) + "|"]
    for path in sorted(Path(directory).glob("*.json"), key=lambda p: p.stat().st_mtime):
        drill = json.loads(path.read_text())
        cells = []
        for _, key in REPORT_COLUMNS:
            value = drill.get(key)
            if value is None and key == "recovery_s" and drill.get("events"):
                value = next(iter(drill["events"].values())).get(key)  # the drill's first event
            if value is None:
                value = "-"
            if isinstance(value, dict):
                value = ", ".join(f"{v} x {k}" for k, v in value.items()) or "none"
            cells.append(str(value))
        rows.append(f"| {drill['drill']} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localdev.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:8080")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second (default 100)")
    parser.add_argument("--sessions", type=int, default=48)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--write-ratio", type=float, default=0.4)
    parser.add_argument("--report", metavar="DIR", help="print a Markdown table of the drills' JSON in DIR, and exit")
    args = parser.parse_args(argv)
    if args.report:
        print(render_report(args.report))
        return 0
    generator = LoadGenerator(args.url, sessions=args.sessions, concurrency=args.concurrency, rate=args.rate,
                              write_ratio=args.write_ratio, max_requests=args.requests, max_seconds=args.seconds)

    async def go():
        await generator.run()
        await generator.verify()

    asyncio.run(go())
    summary = generator.summary()
    json.dump(summary, sys.stdout, indent=2)
    print()
    return 0 if summary["failed"] == 0 and summary.get("sessions_lost", 0) == 0 else 1


__all__ = ["LoadGenerator", "BackgroundLoad", "Record", "render_report", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
