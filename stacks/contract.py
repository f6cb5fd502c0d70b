"""What the stacks promise the session service: Parameter Store names -> environment variables.

The task definition injects each parameter under the environment's prefix as the named
variable; `app/config.py` reads the same names (tests/infra/test_contract.py holds the two
together). Plain data, so the demo and checks can import it without loading cdktf.
"""

from __future__ import annotations

# Parameter (relative to the prefix) -> environment variable of the session service.
PARAMETERS: dict[str, str] = {
    "memorydb/endpoint": "SESSION_STORE_ENDPOINT",
    "memorydb/port": "SESSION_STORE_PORT",
    "memorydb/username": "SESSION_STORE_USERNAME",
    "memorydb/tls": "SESSION_STORE_TLS",
    "memorydb/auth-mode": "SESSION_STORE_AUTH",
    "memorydb/cluster-name": "SESSION_STORE_CLUSTER_NAME",
    "config/redis-db": "SESSION_STORE_DB",
    "config/session-timeout": "SESSION_IDLE_TIMEOUT_SECONDS",
    "config/session-absolute-lifetime": "SESSION_ABSOLUTE_LIFETIME_SECONDS",
}

# uvicorn's keep-alive timeout in app/server.py. The load balancer's idle timeout must stay
# below it: AWS recommends targets keep connections open longer than the load balancer, or the
# ALB reuses a connection the service has just closed and answers 502.
SERVICE_KEEP_ALIVE_SECONDS = 65
