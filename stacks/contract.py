"""What the stacks promise the session service, derived from its one declaration
(`app/contract.py`): Parameter Store names -> environment variables, and the service's
ranges. Plain data, so the demo and checks can import it without loading cdktf.
"""

from __future__ import annotations

from app.contract import SETTINGS, Setting, setting

# Parameter (relative to the prefix) -> environment variable, for every parameter the stack
# writes (the password parameter exists only for local Redis: MemoryDB uses IAM tokens).
PARAMETERS: dict[str, str] = {s.parameter: s.env for s in SETTINGS if s.parameter and s.stack_sets}

# Settings of the stacks that the service enforces -> the service's variable: the synth-time
# range is the service's (stacks/validation.py, stacks/variables.py).
SERVICE_RANGES: dict[str, Setting] = {
    "sessions.idle_timeout_seconds": setting("SESSION_IDLE_TIMEOUT_SECONDS"),
    "sessions.absolute_lifetime_seconds": setting("SESSION_ABSOLUTE_LIFETIME_SECONDS"),
    "sessions.max_payload_bytes": setting("SESSION_MAX_PAYLOAD_BYTES"),
    "service.request_log_sample_rate": setting("SESSION_REQUEST_LOG_SAMPLE_RATE"),
    "service.slow_request_ms": setting("SESSION_SLOW_REQUEST_MS"),
}

# uvicorn's keep-alive timeout in app/server.py. The load balancer's idle timeout must stay
# below it: AWS recommends targets keep connections open longer than the load balancer, or the
# ALB reuses a connection the service has just closed and answers 502.
SERVICE_KEEP_ALIVE_SECONDS = 65
