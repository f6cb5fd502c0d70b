"""Fixtures: one emulator process per test session, on a free loopback port."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from emulator import EmulatorHandle, start_emulator  # noqa: E402


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    log = tmp_path_factory.mktemp("emulator") / "emulator.log"
    handle = start_emulator(log_path=log)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="session")
def aws(emulator: EmulatorHandle) -> Any:
    """Factory for boto3 clients pointed at the emulator."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=emulator.url)

    return client
