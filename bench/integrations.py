"""Flask and ASGI integration benchmark: ``python -m bench.integrations`` (``make bench-integrations``).

Requests/s of ONE server process answering a session read (``GET /read``: load the session,
read one key, no save), for each app of bench/integration_sites.py:

* Flask under gunicorn (gthread, 8 threads): memorydb_sessions.flask on a local Redis
  Cluster (3 primaries + 3 replicas, TLS, ACL), Flask-Session 0.8 on the same cluster,
  Flask without sessions;
* Starlette under uvicorn (uvloop, httptools): memorydb_sessions.asgi on the same cluster,
  Starlette's cookie SessionMiddleware (no store), Starlette without sessions.

wrk drives each (a few seconds per run, the median of 3 runs); the table and the command go
to docs/benchmarks.md under ``## Flask and ASGI integrations``.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.app import DOC, http_request, run_median, wait_http  # noqa: E402
from localdev import procs  # noqa: E402
from localdev.redis_cluster import RedisCluster  # noqa: E402

HEADING = "## Flask and ASGI integrations"
SESSIONS = 200
CASES = [
    ("Flask + memorydb_sessions.flask (Redis Cluster, TLS, ACL)", "flask-ours"),
    ("Flask + Flask-Session 0.8 (same cluster, RedisCluster handed in)", "flask-session"),
    ("Flask without sessions", "flask-none"),
    ("Starlette + memorydb_sessions.asgi (Redis Cluster, TLS, ACL)", "asgi-ours"),
    ("Starlette + its cookie SessionMiddleware (no store)", "asgi-starlette"),
    ("Starlette without sessions", "asgi-none"),
]


def start_site(tmp: Path, case: str, env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    port = procs.free_port()
    env = {**os.environ, **env, "BENCH_CASE": case, "PYTHONPATH": str(ROOT)}
    if case.startswith("flask"):
        argv = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                "--worker-class", "gthread", "--threads", "8", "bench.integration_sites:app"]
    else:
        argv = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop",
                "--http", "httptools", "--no-access-log", "bench.integration_sites:app"]
    proc = procs.start_process(argv, cwd=ROOT, env=env, stdout=tmp / f"{case}.log", stderr=subprocess.STDOUT)
    wait_http(port, proc)
    return proc, port


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.integrations", description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=3, help="seconds per measured run")
    ap.add_argument("--repeats", type=int, default=3, help="runs per case (the median is reported)")
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args(argv)
    started, load = time.monotonic(), os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="bench-integrations-"))
    cluster = RedisCluster(tmp / "cluster", appendonly=False)
    cluster.start()
    running: list[subprocess.Popen] = []
    rows = []
    try:
        for label, case in CASES:
            proc, port = start_site(tmp, case, cluster.client_env())
            running.append(proc)
            cookies = [] if case.endswith("none") else [http_request(port, "GET", "/make")[1] for _ in range(SESSIONS)]
            assert case.endswith("none") or all(c.startswith("session=") for c in cookies), cookies[:1]
            result = run_median(tmp, port, args.repeats, name=label, method="GET", path="/read", cookies=cookies,
                                body=None, duration=args.duration, connections=args.connections)
            rows.append(result)
            procs.stop_pid(proc.pid)
            running.remove(proc)
            print(f"{label}: {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} ms, errors {result.errors}", flush=True)
    finally:
        for proc in running:
            procs.stop_pid(proc.pid)
        cluster.stop()
    write_doc(rows, args, time.monotonic() - started, load)
    return 0


def write_doc(rows, args, elapsed: float, load: float) -> None:
    cmd = "make bench-integrations   # = .venv/bin/python -m bench.integrations"
    table = ["| case (session read, GET /read) | requests/s | p50 ms | p99 ms | errors |", "|---|---:|---:|---:|---:|"]
    table += [f"| {r.name} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.errors} |" for r in rows]
    f_ours, f_session, f_bare, a_ours, a_cookie, a_bare = rows
    body = f"""{HEADING}

Command: `{cmd}` (ran {elapsed:.0f} s on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores,
Python {platform.python_version()}; Flask 3.1 under gunicorn gthread (1 process, 8 threads), Starlette 1.10 under
uvicorn (1 process, uvloop, httptools)). wrk: 1 thread, {args.connections} connections, {SESSIONS} sessions,
{args.repeats} runs of {args.duration:g} s (median). Nothing pinned: server, wrk and Redis share the machine with other
jobs (load average {load:.1f} when it started), so compare the ratios. Flask-Session 0.8 has no cluster mode: it is
handed redis-py's `RedisCluster` (as in the service benchmark); Starlette's middleware keeps the data in a signed
cookie and reads no store.

{chr(10).join(table)}

Flask: ours {f_ours.rps / f_bare.rps:.0%} of Flask without sessions, {f_ours.rps / f_session.rps:.2f}x Flask-Session.
Starlette: ours {a_ours.rps / a_bare.rps:.0%} of Starlette without sessions, {a_ours.rps / a_cookie.rps:.2f}x the cookie middleware.
"""
    text = DOC.read_text()
    start = text.find(HEADING + "\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        end = text.find("\n## ", start + len(HEADING))
        text = text[:start] + body + ("" if end == -1 else text[end:])
    DOC.write_text(text)


if __name__ == "__main__":
    raise SystemExit(main())
