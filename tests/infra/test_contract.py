"""The stacks and the session service agree on every parameter and variable name."""

from __future__ import annotations

from app.config import PARAMETER_TO_ENV
from stacks.contract import PARAMETERS, SERVICE_KEEP_ALIVE_SECONDS


def test_service_reads_every_parameter_the_stacks_write_under_the_same_variable():
    for parameter, variable in PARAMETERS.items():
        assert PARAMETER_TO_ENV.get(parameter) == variable, parameter


def test_the_service_knows_no_parameter_the_stacks_do_not_write_except_the_local_password():
    # The password exists only for local Redis; MemoryDB uses IAM tokens (nothing to store).
    assert set(PARAMETER_TO_ENV) - set(PARAMETERS) == {"memorydb/password"}


def test_the_service_keeps_connections_alive_as_long_as_the_stacks_assume():
    from app.config import Settings
    from app.server import uvicorn_config

    settings = Settings.from_env({"SESSION_STORE_ENDPOINT": "127.0.0.1", "SESSION_STORE_TLS": "false"},
                                 use_parameter_store=False)
    assert uvicorn_config(settings).timeout_keep_alive == SERVICE_KEEP_ALIVE_SECONDS
