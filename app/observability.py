"""One JSON log line per request on stdout, and session metrics in CloudWatch
Embedded Metric Format (EMF): namespace ``SessionApp``, dimension ``Environment``.

Metrics are aggregated in-process and flushed as one EMF document every
``FLUSH_SECONDS`` (and at shutdown), which keeps log volume independent of
traffic.  Session ids never reach this module: callers pass route templates,
never paths or cookies.
"""

from __future__ import annotations

import os
import random
import re
import sys
import time

import orjson

from memorydb_sessions.sessions import METRICS as CORE_METRICS

NAMESPACE = "SessionApp"
FLUSH_SECONDS = 60.0
MAX_SAMPLES = 100  # EMF accepts up to 100 values per metric

# The core's counters (declared once, in the library) and the service's own.
COUNTERS = (*CORE_METRICS, "Requests", "ServerErrors", "SignInFailures", "RateLimited")


# Anything shaped like a session id (43 base64url characters) or a store key that
# names a session or a user; exception texts from the store client can quote
# commands and keys, and ids must never reach the logs.
_SECRETS = re.compile(r"[A-Za-z0-9_-]{43,}|(?:sess|usess|urev|dir|rate):[^\s'\")]*")


def redact(text: str) -> str:
    return _SECRETS.sub("<redacted>", text)


def _write(line: bytes) -> None:
    try:
        os.write(1, line)
    except BlockingIOError:  # pragma: no cover - stdout is a non-blocking pipe
        sys.stdout.buffer.write(line)
        sys.stdout.flush()
    except OSError:  # pragma: no cover - stdout closed: nothing sensible left to do
        pass


class _LineBuffer:
    """Log lines written in one event-loop iteration go out in one write()."""

    def __init__(self) -> None:
        self.loop = None
        self.lines: list[bytes] = []
        self.scheduled = False

    def write(self, line: bytes) -> None:
        if self.loop is None:
            _write(line)
            return
        self.lines.append(line)
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        self.scheduled = False
        lines, self.lines = self.lines, []
        if lines:
            _write(b"".join(lines))


class Observability:
    def __init__(self, environment: str, instance: str, *, log_requests: bool = True,
                 sample_rate: float = 1.0, slow_ms: float = 1000.0) -> None:
        self.environment = environment
        self.instance = instance
        self.log_requests = log_requests
        # Request-log sampling: 5xx answers and requests slower than slow_ms are always logged;
        # of the rest, exactly `sample_rate` of them (a counter, not a coin: deterministic and
        # exact over any window). Lines of a sampled log carry `sample_rate` for scaling.
        self.sample_rate = sample_rate
        self.slow_ms = slow_ms
        self._ordinary = 0
        self._kept = 0
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.latency_samples: list[float] = []
        self._latency_seen = 0
        self._last_flush = time.monotonic()
        self._last_store_error_log = 0.0
        self._out = _LineBuffer()

    def attach(self, loop) -> None:
        """Batch log writes on *loop* (call from the running loop)."""
        self._out.loop = loop

    def detach(self) -> None:
        self._out.flush()
        self._out.loop = None

    # ---------------------------------------------------------------- logs
    def log(self, level: str, message: str, **fields) -> None:
        rec = {"ts": time.time(), "level": level, "msg": message, "instance": self.instance, **fields}
        self._out.write(orjson.dumps(rec) + b"\n")

    def request(self, *, request_id: str, method: str, route: str, status: int, latency_ms: float, **extra) -> None:
        self.counters["Requests"] += 1
        if status >= 500 and status != 503:
            self.counters["ServerErrors"] += 1
        if self.log_requests and self._keep(status, latency_ms):
            rec = {
                "ts": time.time(),
                "level": "info",
                "msg": "request",
                "request_id": request_id,
                "method": method,
                "route": route,
                "status": status,
                "latency_ms": int(latency_ms * 1000) / 1000,
                "instance": self.instance,
            }
            if extra:
                rec.update(extra)
            if self.sample_rate < 1.0:
                rec["sample_rate"] = self.sample_rate
            self._out.write(orjson.dumps(rec) + b"\n")
        self.maybe_flush()

    def _keep(self, status: int, latency_ms: float) -> bool:
        if status >= 500 or latency_ms >= self.slow_ms or self.sample_rate >= 1.0:
            return True
        # Keep the n-th ordinary request when floor(n * rate) steps up (the epsilon absorbs
        # binary fractions such as 0.1 * 10 = 0.9999...).
        self._ordinary += 1
        due = int(self._ordinary * self.sample_rate + 1e-9)
        if due > self._kept:
            self._kept = due
            return True
        return False

    def store_error(self, exc: BaseException) -> None:
        """Log a store error, at most once a second (an outage must not flood the logs)."""
        now = time.monotonic()
        if now - self._last_store_error_log >= 1.0:
            self._last_store_error_log = now
            self.log("warning", "store error", error=type(exc).__name__, detail=redact(str(exc))[:300])

    # ------------------------------------------------------------- metrics
    def incr(self, name: str, n: int = 1) -> None:
        self.counters[name] += n

    def store_latency(self, ms: float) -> None:
        # Reservoir sampling keeps a fair sample of at most MAX_SAMPLES values.
        self._latency_seen += 1
        if len(self.latency_samples) < MAX_SAMPLES:
            self.latency_samples.append(ms)
        else:
            j = random.randrange(self._latency_seen)
            if j < MAX_SAMPLES:
                self.latency_samples[j] = ms

    def maybe_flush(self) -> None:
        if time.monotonic() - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def emf_document(self) -> dict:
        metrics = [{"Name": n, "Unit": "Count"} for n in COUNTERS]
        doc: dict = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {"Namespace": NAMESPACE, "Dimensions": [["Environment"]], "Metrics": metrics}
                ],
            },
            "Environment": self.environment,
            "instance": self.instance,
        }
        doc.update(self.counters)
        if self.latency_samples:
            metrics.append({"Name": "StoreLatency", "Unit": "Milliseconds"})
            doc["StoreLatency"] = [round(v, 3) for v in self.latency_samples]
        return doc

    def flush(self) -> None:
        self._last_flush = time.monotonic()
        if not any(self.counters.values()) and not self.latency_samples:
            return
        self._out.write(orjson.dumps(self.emf_document()) + b"\n")
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.latency_samples = []
        self._latency_seen = 0
