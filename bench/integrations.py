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

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import reads  # noqa: E402
from bench.app import wait_http  # noqa: E402
from bench.doc import write_section  # noqa: E402
from localdev import procs  # noqa: E402
from localdev.redis_cluster import RedisCluster  # noqa: E402

HEADING = "## Flask and ASGI integrations"
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
    args = reads.parse_args("python -m bench.integrations", __doc__, argv)
    started, load = time.monotonic(), os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="bench-integrations-"))
    cluster = RedisCluster(tmp / "cluster", appendonly=False)
    cluster.start()
    try:
        rows = reads.measure(tmp, [
            reads.Case(label, lambda case=case: start_site(tmp, case, cluster.client_env()),
                       None if case.endswith("none") else "session")
            for label, case in CASES], args)
    finally:
        cluster.stop()
    write_doc(rows, args, time.monotonic() - started, load)
    return 0


def write_doc(rows, args, elapsed: float, load: float) -> None:
    cmd = "make bench-integrations   # = .venv/bin/python -m bench.integrations"
    f_ours, f_session, f_bare, a_ours, a_cookie, a_bare = rows
    body = f"""{HEADING}

Command: `{cmd}` (ran {elapsed:.0f} s on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores,
Python {platform.python_version()}; Flask 3.1 under gunicorn gthread (1 process, 8 threads), Starlette 1.10 under
uvicorn (1 process, uvloop, httptools)). wrk: 1 thread, {args.connections} connections, {reads.SESSIONS} sessions,
{args.repeats} runs of {args.duration:g} s (median). Nothing pinned: server, wrk and Redis share the machine with other
jobs (load average {load:.1f} when it started), so compare the ratios. Flask-Session 0.8 has no cluster mode: it is
handed redis-py's `RedisCluster` (as in the service benchmark); Starlette's middleware keeps the data in a signed
cookie and reads no store.

{reads.table(rows)}

Flask: ours {f_ours.rps / f_bare.rps:.0%} of Flask without sessions, {f_ours.rps / f_session.rps:.2f}x Flask-Session.
Starlette: ours {a_ours.rps / a_bare.rps:.0%} of Starlette without sessions, {a_ours.rps / a_cookie.rps:.2f}x the cookie middleware.
"""
    write_section(HEADING, body)


if __name__ == "__main__":
    raise SystemExit(main())
