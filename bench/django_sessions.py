"""Django integration benchmark: ``python -m bench.django_sessions`` (``make bench-django``).

Requests/s of one gunicorn process (gthread, 8 threads) answering a session read
(``GET /read``: load the session, read one key, no save) with:

* ``memorydb_sessions.django`` on a local Redis Cluster (3 primaries + 3 replicas, TLS, ACL),
* Django's cache session engine on ONE Redis node (TLS) through
  ``django.core.cache.backends.redis.RedisCache``, which cannot talk to a cluster (it sends
  every command to the node it was given: a MOVED reply is an error), so MemoryDB is out of
  its reach,
* the same Django without sessions (no session middleware).

wrk drives each (a few seconds per run, the median of 3 runs); the table and the command go
to docs/benchmarks.md under ``## Django integration``.
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
from localdev.redis_cluster import REDIS_SERVER, RedisCluster  # noqa: E402

HEADING = "## Django integration"


def start_single_node(tmp: Path, tls: dict[str, str]) -> tuple[subprocess.Popen, int]:
    port = procs.free_port()
    proc = procs.start_process([REDIS_SERVER, "--port", "0", "--tls-port", str(port), "--tls-cert-file", tls["cert"],
                                "--tls-key-file", tls["key"], "--tls-ca-cert-file", tls["ca"],
                                "--tls-auth-clients", "no", "--save", "", "--appendonly", "no"],
                               cwd=tmp, stdout=tmp / "single.log", stderr=subprocess.STDOUT)
    procs.wait_for_port(port, timeout=15, proc=proc)
    return proc, port


def start_site(tmp: Path, engine: str, env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    port = procs.free_port()
    env = {**os.environ, **env, "BENCH_ENGINE": engine, "DJANGO_SETTINGS_MODULE": "bench.django_site",
           "PYTHONPATH": str(ROOT)}
    proc = procs.start_process([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                                "--worker-class", "gthread", "--threads", "8", "django.core.wsgi:get_wsgi_application()"],
                               cwd=ROOT, env=env, stdout=tmp / f"{engine}.log", stderr=subprocess.STDOUT)
    wait_http(port, proc)
    return proc, port


def main(argv: list[str] | None = None) -> int:
    args = reads.parse_args("python -m bench.django_sessions", __doc__, argv)
    started, load = time.monotonic(), os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="bench-django-"))
    cluster = RedisCluster(tmp / "cluster", appendonly=False)
    cluster.start()
    single = None
    try:
        single, single_port = start_single_node(tmp, cluster.tls_paths)
        cache_env = {"BENCH_REDIS_URL": f"rediss://127.0.0.1:{single_port}/0", "BENCH_REDIS_CA": cluster.tls_paths["ca"]}
        rows = reads.measure(tmp, [
            reads.Case("memorydb_sessions.django (Redis Cluster, TLS, ACL)",
                       lambda: start_site(tmp, "memorydb", cluster.client_env()), "sessionid"),
            reads.Case("Django cache engine, RedisCache (one Redis node, TLS)",
                       lambda: start_site(tmp, "cache", cache_env), "sessionid"),
            reads.Case("Django without sessions", lambda: start_site(tmp, "none", {}), None),
        ], args)
    finally:
        if single is not None:
            procs.stop_pid(single.pid)
        cluster.stop()
    write_doc(rows, args, time.monotonic() - started, load)
    return 0


def write_doc(rows, args, elapsed: float, load: float) -> None:
    cmd = "make bench-django   # = .venv/bin/python -m bench.django_sessions"
    ours, cache, bare = rows
    body = f"""{HEADING}

Command: `{cmd}` (ran {elapsed:.0f} s on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores,
Python {platform.python_version()}, Django 5.2, gunicorn gthread: 1 process, 8 threads).
wrk: 1 thread, {args.connections} connections, {reads.SESSIONS} sessions, {args.repeats} runs of {args.duration:g} s (median). Nothing pinned:
server, wrk and Redis share the machine with other jobs (load average {load:.1f} when it started), so compare the ratios. The cache
engine runs against one TLS Redis node because `RedisCache` cannot use a cluster (and so
not MemoryDB); ours reads from the 6-node TLS cluster with its ACL user (one GET+PTTL round trip).

{reads.table(rows)}

Ours: {ours.rps / bare.rps:.0%} of Django without sessions, {ours.rps / cache.rps:.2f}x the cache engine.
"""
    write_section(HEADING, body)


if __name__ == "__main__":
    raise SystemExit(main())
