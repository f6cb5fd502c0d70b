"""Request-log sampling: 5xx answers and slow requests are always logged, and of the rest
exactly the configured share (a credit counter: deterministic, no seed needed)."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest

from app.config import ConfigError, Settings
from app.http import App
from app.observability import Observability

from .conftest import TEST_LIMITS


def request_lines(text: str) -> list[dict]:
    records = [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]
    return [r for r in records if r.get("msg") == "request"]


def log_requests(obs: Observability, statuses_and_latency) -> None:
    for i, (status, latency_ms) in enumerate(statuses_and_latency):
        obs.request(request_id=f"r{i}", method="GET", route="/api/session", status=status, latency_ms=latency_ms)


def test_sampling_keeps_every_error_and_slow_request_and_the_right_share_of_the_rest(capfd):
    obs = Observability("test", "i-1", sample_rate=0.1, slow_ms=250)
    traffic = [(200, 3.0)] * 1000 + [(500, 3.0)] * 7 + [(502, 3.0)] * 3 + [(200, 400.0)] * 5 + [(404, 2.0)] * 100
    log_requests(obs, traffic)
    lines = request_lines(capfd.readouterr().out)
    assert sum(1 for r in lines if r["status"] >= 500) == 10            # every 5xx
    assert sum(1 for r in lines if r["latency_ms"] >= 250) == 5         # every slow request
    ordinary = [r for r in lines if r["status"] < 500 and r["latency_ms"] < 250]
    assert len(ordinary) == 110                                        # 10 % of 1100, exactly
    assert {r["status"] for r in ordinary} == {200, 404}                # 4xx are sampled like 2xx
    assert all(r["sample_rate"] == 0.1 for r in lines)
    assert obs.counters["Requests"] == len(traffic)                    # metrics still count every request


def test_rate_one_logs_everything_and_rate_zero_only_errors_and_slow(capfd):
    full = Observability("test", "i-1")
    log_requests(full, [(200, 1.0)] * 50)
    lines = request_lines(capfd.readouterr().out)
    assert len(lines) == 50 and "sample_rate" not in lines[0]
    none = Observability("test", "i-1", sample_rate=0.0, slow_ms=100)
    log_requests(none, [(200, 1.0)] * 50 + [(503, 1.0), (200, 150.0)])
    assert [(r["status"], r["latency_ms"]) for r in request_lines(capfd.readouterr().out)] == [(503, 1.0), (200, 150.0)]


@pytest.mark.parametrize(("value", "message"), [("1.5", "between 0.0 and 1.0"), ("often", "must be a number")])
def test_bad_sample_rate_is_refused_naming_the_variable(value, message):
    with pytest.raises(ConfigError, match="SESSION_REQUEST_LOG_SAMPLE_RATE") as raised:
        Settings.from_env({"SESSION_STORE_ENDPOINT": "localhost", "SESSION_REQUEST_LOG_SAMPLE_RATE": value},
                          use_parameter_store=False)
    assert message in str(raised.value)


def test_the_service_samples_what_the_stack_configures(cluster, capfd):
    """The real app with the variables ECS sets: 40 reads at rate 0.25 log 10 lines, a 404-free
    run through the real store. Also prints one line's size (docs/architecture.md cost table)."""
    env = {**cluster.client_env(), **TEST_LIMITS, "SESSION_REQUEST_LOG_SAMPLE_RATE": "0.25", "SESSION_SLOW_REQUEST_MS": "60000"}

    async def run():
        app = App(Settings.from_env(env), handle_signals=False)
        await app.startup()
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                r = await c.post("/api/session", json={"data": {"cart": 1}})
                assert r.status_code == 201
                sid = r.headers["set-cookie"].split(";")[0].split("=", 1)[1]
                capfd.readouterr()
                for _ in range(40):
                    assert (await c.get("/api/session", headers={"Cookie": f"sid={sid}"})).status_code == 200
        finally:
            app.obs._out.flush()
            out = capfd.readouterr().out
            await app.shutdown()
        return out

    out = asyncio.run(run())
    lines = [line for line in out.splitlines() if '"msg":"request"' in line]
    assert len(lines) == 10
    print(f"one request log line: {len(lines[0]) + 1} bytes")
