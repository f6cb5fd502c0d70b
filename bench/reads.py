"""The session-read benchmark the framework integrations share (bench.django_sessions,
bench.integrations): start each case's server, give it sessions, drive `GET /read` with wrk
and keep the median of a few runs."""

from __future__ import annotations

import argparse
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.app import Result, http_request, run_median
from localdev import procs

SESSIONS = 200
TABLE_HEAD = ["| case (session read, GET /read) | requests/s | p50 ms | p99 ms | errors |", "|---|---:|---:|---:|---:|"]


@dataclass(frozen=True)
class Case:
    label: str
    start: Callable[[], tuple[subprocess.Popen, int]]  # a running server and its port
    cookie: str | None  # the session cookie's name; None: an app without sessions


def parse_args(prog: str, doc: str, argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=3, help="seconds per measured run")
    ap.add_argument("--repeats", type=int, default=3, help="runs per case (the median is reported)")
    ap.add_argument("--connections", type=int, default=16)
    return ap.parse_args(argv)


def measure(tmp: Path, cases: list[Case], args: argparse.Namespace) -> list[Result]:
    """One row per case, each server stopped (by PID) before the next starts."""
    rows = []
    for case in cases:
        proc, port = case.start()
        try:
            cookies = [] if case.cookie is None else [http_request(port, "GET", "/make")[1] for _ in range(SESSIONS)]
            assert all(c.startswith(f"{case.cookie}=") for c in cookies), cookies[:1]
            result = run_median(tmp, port, args.repeats, name=case.label, method="GET", path="/read", cookies=cookies,
                                body=None, duration=args.duration, connections=args.connections)
        finally:
            procs.stop_pid(proc.pid)
        rows.append(result)
        print(f"{case.label}: {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} ms, errors {result.errors}", flush=True)
    return rows


def table(rows: list[Result]) -> str:
    return "\n".join(TABLE_HEAD + [f"| {r.name} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.errors} |"
                                   for r in rows])
