"""Fixtures of the image suite: the image built from app/Dockerfile (once per session), the
synthesized `session-dev` stack, the moto emulator and a local Redis Cluster (TLS, ACL).

The image is built for the task definition's architecture (arm64 for dev: under qemu on an
x86 host); SESSION_IMAGE_ARCH=amd64 builds and runs the host's architecture instead.
Every server is started on free ports and stopped by PID.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from deploy.image import BuiltImage, build_image, default_architecture  # noqa: E402
from localdev.redis_cluster import RedisCluster  # noqa: E402
from deploy.synthesis import synthesize  # noqa: E402
from tests.image.ecs import Stack  # noqa: E402

STACK = "session-dev"


def _say(line: str) -> None:
    print(f"[image] {line}", file=sys.stderr, flush=True)


@pytest.fixture(scope="session")
def image_architecture() -> str:
    return os.environ.get("SESSION_IMAGE_ARCH") or default_architecture("dev")


@pytest.fixture(scope="session")
def service_image(image_architecture) -> BuiltImage:
    """The session service's image, built from app/Dockerfile with buildah."""
    return build_image(image_architecture, say=_say)


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Stack:
    outdir = tmp_path_factory.mktemp("synth")
    result = synthesize(outdir)
    assert result.returncode == 0, result.stderr[-3000:]
    return Stack.load(outdir / "stacks" / STACK / "cdk.tf.json")


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    from emulator import start_emulator

    handle = start_emulator(log_path=tmp_path_factory.mktemp("emulator") / "emulator.log")
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="session")
def ssm(emulator, stack):
    import boto3

    return boto3.client("ssm", endpoint_url=emulator.url, region_name=stack.region(),
                        aws_access_key_id="test", aws_secret_access_key="test")


@pytest.fixture(scope="session")
def account(emulator, stack) -> str:
    import boto3

    sts = boto3.client("sts", endpoint_url=emulator.url, region_name=stack.region(),
                       aws_access_key_id="test", aws_secret_access_key="test")
    return sts.get_caller_identity()["Account"]


@pytest.fixture(scope="session")
def cluster(tmp_path_factory, stack):
    """The local MemoryDB: its ACL user has the name the stack gives the MemoryDB user."""
    username = stack.only("aws_memorydb_user")["user_name"]
    c = RedisCluster(tmp_path_factory.mktemp("redis-cluster"), username=username, appendonly=False)
    c.start()
    try:
        yield c
    finally:
        c.stop()
