"""The emulator's process API and CLI: start, answer, stop by PID, clean up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from emulator import free_port, start_emulator
from emulator.process import REPO_ROOT


def test_start_emulator_serves_sts_iam_and_stops(tmp_path: Path) -> None:
    handle = start_emulator(log_path=tmp_path / "emulator.log")
    try:
        assert handle.url == f"http://127.0.0.1:{handle.port}"
        assert handle.s3_backend_args() == [
            "-backend-config=use_path_style=true",
            f'-backend-config=endpoints={{s3="{handle.url}"}}',
        ]
        assert handle.env()["AWS_ENDPOINT_URL"] == handle.url
        session = boto3.session.Session(**{k: handle.env()[v] for k, v in [
            ("aws_access_key_id", "AWS_ACCESS_KEY_ID"), ("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"),
            ("region_name", "AWS_REGION")]})
        # The provider validates credentials through STS and needs AWS-managed policies.
        assert session.client("sts", endpoint_url=handle.url).get_caller_identity()["Account"] == "123456789012"
        policy = session.client("iam", endpoint_url=handle.url).get_policy(
            PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
        assert policy["Policy"]["PolicyName"] == "AmazonECSTaskExecutionRolePolicy"
    finally:
        handle.stop()
    assert handle.process.returncode == 0
    try:
        urllib.request.urlopen(f"{handle.url}/moto-api/", timeout=1)
        raise AssertionError("emulator still answers after stop()")
    except OSError:
        pass


def test_cli_writes_pidfile_and_exits_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    pidfile = tmp_path / "emulator.pid"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "serve", "--port", str(port), "--pidfile", str(pidfile)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert int(pidfile.read_text()) == proc.pid
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=5) as response:
            assert response.status == 200
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert not pidfile.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_unimplemented_action_fails_fast_with_501(aws: Any) -> None:
    """Not a 500 the SDKs retry: a 501 naming the action, answered once."""
    started = time.monotonic()
    for client, call in [
        (aws("memorydb"), lambda c: c.describe_engine_versions()),  # JSON protocol
        (aws("ec2"), lambda c: c.describe_ipam_pools()),  # query/XML protocol
    ]:
        try:
            call(client)
            raise AssertionError("expected the action to be unimplemented")
        except ClientError as exc:
            assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 501
            assert exc.response["Error"]["Code"] == "NotImplemented"
            assert "has not been implemented" in exc.response["Error"]["Message"]
            assert exc.response["ResponseMetadata"].get("RetryAttempts", 0) == 0
    assert time.monotonic() - started < 10
