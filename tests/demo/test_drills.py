"""Failure drills under steady load through HAProxy (the ALB's stand-in), on one loopback
runtime shared by the module. Each drill prints its numbers and writes them to
.build/drills/<drill>.json (docs/reliability.md quotes them). Timing is only ever asserted
against generous upper bounds.

Run: .venv/bin/pytest tests/demo/test_drills.py -s
"""

from __future__ import annotations

import signal
import time

import pytest

from localdev.haproxy import set_server_state
from localdev.load import BackgroundLoad, LoadGenerator

# A steady ~100 requests/s, 40 % writes, over 48 sessions; bounded in requests and in time.
LOAD = dict(rate=100.0, concurrency=8, sessions=48, write_ratio=0.4, max_requests=6000, max_seconds=45.0)
DEREGISTRATION_DELAY = 2.0  # seconds between "drain in the load balancer" and SIGTERM
WARM_UP = 2.0  # seconds of steady load before anything is broken
RECOVERY_BOUND = 20.0  # seconds: generous upper bound for a primary failover
RESTART_BOUND = 45.0  # seconds: generous upper bound for a whole-cluster restart

# Sessions of earlier drills, read back after the whole cluster restarted.
EARLIER: list[LoadGenerator] = []


def wait_for_quiet(load: BackgroundLoad, since: float, quiet: float = 3.0, bound: float = 30.0) -> None:
    """Keep the load running until no request has failed for `quiet` seconds (at least `quiet`
    seconds after `since`), or `bound` seconds after `since`."""
    generator = load.generator
    while True:
        time.sleep(0.25)
        now = generator.now()
        if now - since > bound:
            return
        last = generator.event_summary(since)["last_failure_s"]
        last_failure = since if last is None else since + last
        if now - last_failure >= quiet:
            return


def replica_of(cluster, primary):
    """The node replicating `primary` (asked of the primary itself)."""
    info = cluster.cli("info", "replication", port=primary.port)
    ports = [int(part.split("=")[1]) for line in info.splitlines() if line.startswith("slave")
             for part in line.split(":", 1)[1].split(",") if part.startswith("port=")]
    return next(node for node in cluster.nodes if node.port in ports)


def counter_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in before}


def served_after(generator: LoadGenerator, instance: str, at: float) -> int:
    return sum(1 for r in list(generator.records) if r.start > at + 0.05 and r.served_by == instance)


def test_sigterm_after_deregistration_loses_nothing(runtime, report):
    """ECS scale-in / deploy: deregister (drain) the target, wait the deregistration delay, SIGTERM."""
    victim = runtime.instance("app-2")
    try:
        counters = runtime.backend_counters()
        with BackgroundLoad(runtime.url, **LOAD) as load:
            load.sleep_until(WARM_UP)
            drained_at = load.mark("drain")
            set_server_state(runtime.admin_socket, victim.name, "drain")
            time.sleep(DEREGISTRATION_DELAY)
            load.mark("sigterm")
            shutdown_s, exit_status = runtime.signal_and_wait(victim, signal.SIGTERM)
            time.sleep(3.0)
        summary = load.summary()
        EARLIER.append(load.generator)
        numbers = {**summary, "instance": victim.name, "deregistration_delay_s": DEREGISTRATION_DELAY,
                   "shutdown_s": round(shutdown_s, 2), "exit_status": exit_status,
                   "served_by_victim_after_drain": served_after(load.generator, victim.name, drained_at),
                   "haproxy": counter_delta(counters, runtime.backend_counters())}
        report("sigterm_instance", numbers)
        assert summary["failed"] == 0, summary["failures_by_kind"]
        assert summary["sessions_lost"] == 0
        assert summary["acknowledged_writes_lost"] == 0
        assert summary["stale_reads"] == 0
        assert numbers["served_by_victim_after_drain"] == 0
        assert exit_status in (0, None), f"exit status {exit_status} after SIGTERM"
        assert shutdown_s < 25, "graceful shutdown must finish inside ECS's 30 s stop timeout"
    finally:
        runtime.restart(victim)


def test_sigkill_instance_loses_no_session(runtime, report):
    """A task dies without warning (OOM kill, host loss): HAProxy's health checks take it out."""
    victim = runtime.instance("app-3")
    try:
        counters = runtime.backend_counters()
        with BackgroundLoad(runtime.url, **LOAD) as load:
            load.sleep_until(WARM_UP)
            killed_at = load.mark("sigkill")
            runtime.signal_and_wait(victim, signal.SIGKILL)
            time.sleep(5.0)  # health checks: inter 1 s, fall 2
        summary = load.summary()
        EARLIER.append(load.generator)
        event = summary["events"]["sigkill"]
        haproxy = counter_delta(counters, runtime.backend_counters())
        # Requests HAProxy had to retry on another instance: without load balancer retries (the
        # ALB does not retry a request on another target) these would have failed with a 502.
        numbers = {**summary, "instance": victim.name, "in_flight_failed": event["failed_after"],
                   "served_by_victim_after_kill": served_after(load.generator, victim.name, killed_at),
                   "haproxy": haproxy, "saved_by_haproxy_retries": haproxy["wredis"]}
        report("sigkill_instance", numbers)
        assert summary["sessions_lost"] == 0
        assert summary["acknowledged_writes_lost"] == 0
        assert summary["http_500"] == 0, runtime.server_errors()
    finally:
        runtime.restart(victim)


def test_redis_primary_killed_replica_takes_over(runtime, report):
    """SIGKILL one Redis primary: its replica is promoted after cluster-node-timeout (2 s)."""
    cluster = runtime.cluster
    victim = None
    try:
        with BackgroundLoad(runtime.url, **LOAD) as load:
            load.sleep_until(WARM_UP)
            killed_at = load.mark("kill_primary")
            replica = replica_of(cluster, cluster.primary_nodes()[0])
            victim = cluster.kill_primary(0)
            promoted_s = None
            while load.generator.now() - killed_at < RECOVERY_BOUND:
                asked_at = load.generator.now()
                if cluster.cli("role", port=replica.port, timeout=5).startswith("master"):
                    promoted_s = asked_at - killed_at
                    break
                time.sleep(0.1)
            wait_for_quiet(load, killed_at, quiet=3.0, bound=RECOVERY_BOUND + 5)
        summary = load.summary()
        EARLIER.append(load.generator)
        event = summary["events"]["kill_primary"]
        numbers = {**summary, "replica_promoted_s": None if promoted_s is None else round(promoted_s, 2),
                   "recovery_s": event["recovery_s"], "failed_during_failover": event["failed_after"]}
        report("kill_redis_primary", numbers)
        assert summary["http_500"] == 0, ("the service must answer 503 during a store outage, never 500\n"
                                          + runtime.server_errors())
        assert set(event["failures_by_kind"]) <= {"http 503"}, event["failures_by_kind"]
        assert promoted_s is not None, "no replica was promoted"
        assert event["recovery_s"] <= RECOVERY_BOUND
        assert summary["sessions_lost"] == 0
        # Acknowledged writes lost: reported, not asserted (Redis replication is asynchronous).
    finally:
        if victim is not None:
            cluster.start_node(victim)  # rejoins as a replica; the cluster is whole again


def test_whole_cluster_restart_from_aof_keeps_sessions(runtime, report):
    """Stop every Redis node and start them again from their append-only files."""
    cluster = runtime.cluster
    with BackgroundLoad(runtime.url, **LOAD) as load:
        load.sleep_until(WARM_UP)
        stopped_at = load.mark("restart_all")
        cluster.restart_all(timeout=RESTART_BOUND)
        load.mark("cluster_healthy")
        wait_for_quiet(load, stopped_at, quiet=2.0, bound=RESTART_BOUND)
    summary = load.summary()
    event = summary["events"]["restart_all"]

    # Sessions the earlier drills created (before this restart) must still be there too.
    import asyncio

    earlier_lost = earlier_missing = earlier_sessions = 0
    for generator in EARLIER:
        before = sum(len(s.missing) for s in generator.sessions)
        asyncio.run(generator.verify(patience=15))
        earlier_sessions += len(generator.sessions)
        earlier_lost += sum(s.lost for s in generator.sessions)
        earlier_missing += sum(len(s.missing) for s in generator.sessions) - before
    numbers = {**summary, "recovery_s": event["recovery_s"], "failed_during_restart": event["failed_after"],
               "restart_all_returned_s": round(summary["marks_s"]["cluster_healthy"] - summary["marks_s"]["restart_all"], 2),
               "earlier_sessions_checked": earlier_sessions, "earlier_sessions_lost": earlier_lost,
               "earlier_acknowledged_writes_newly_lost": earlier_missing}
    report("restart_redis_cluster", numbers)
    assert summary["sessions_lost"] == 0
    assert summary["acknowledged_writes_lost"] == 0, "a clean shutdown flushes the AOF: nothing acknowledged may go"
    assert earlier_lost == 0 and earlier_missing == 0
    assert summary["http_500"] == 0, runtime.server_errors()
    assert event["recovery_s"] <= RESTART_BOUND
