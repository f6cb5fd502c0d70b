"""Deploy-check-destroy of the probe configs with the real AWS provider 5.100.0.

One Terraform config holds every resource type the stacks use, so the provider's
fixed waits (ALB, S3 lifecycle: ~1 min on create; MemoryDB cluster: ~5 min on
delete) overlap. The S3-backend probe runs while that destroy is waiting.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator import EmulatorHandle, start_emulator
from emulator_tf import FIXTURES, Terraform, TfResult, prepare_probe

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on the PATH")


@dataclass
class ProbeRun:
    emulator: EmulatorHandle
    trace: Path
    tf: Terraform
    destroy: TfResult | None = None
    destroy_thread: threading.Thread | None = field(default=None, repr=False)


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProbeRun]:
    base = tmp_path_factory.mktemp("probe")
    trace = base / "emulator-trace.log"
    trace.touch()
    handle = start_emulator(log_path=base / "emulator.log", trace_path=trace)
    workdir = base / "probe"
    prepare_probe(workdir, "probe")
    run = ProbeRun(emulator=handle, trace=trace, tf=Terraform(workdir, handle.url))
    try:
        yield run
    finally:
        if run.destroy_thread is not None:
            run.destroy_thread.join(timeout=900)
        handle.stop()


def _server_errors(trace: Path) -> list[str]:
    """5xx answers: unimplemented actions or emulator crashes, even if a retry hid them."""
    return [line for line in trace.read_text().splitlines() if line.startswith(("5", "EXC"))]


def test_probe_applies_and_second_plan_is_clean(probe: ProbeRun) -> None:
    tf = probe.tf
    tf.run("init", "-no-color", "-input=false")
    tf.run("apply", "-auto-approve", "-no-color", "-input=false", "-parallelism=20")
    plan = tf.run("plan", "-detailed-exitcode", "-no-color", "-input=false", check=False)
    assert plan.returncode == 0, f"second plan is not clean:\n{plan.output[-8000:]}"
    assert _server_errors(probe.trace) == []

    state = tf.run("state", "list").output.split()
    for address in [
        "aws_memorydb_acl.main",
        "aws_memorydb_parameter_group.main",
        "aws_memorydb_cluster.main",
        "aws_appautoscaling_target.app",
        "aws_ecs_service.app",
        "aws_lb_listener.https",
        "aws_cloudwatch_dashboard.main",
    ]:
        assert address in state

    # Start the destroy now: its ~5 minute MemoryDB wait overlaps the backend probe.
    def destroy() -> None:
        probe.destroy = tf.run("destroy", "-auto-approve", "-no-color", "-input=false", "-parallelism=20", check=False)

    probe.destroy_thread = threading.Thread(target=destroy, daemon=True)
    probe.destroy_thread.start()


def test_s3_backend_with_lockfile(probe: ProbeRun, tmp_path: Path) -> None:
    url = probe.emulator.url
    s3 = boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    bucket = "backend-probe-state"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    shutil.copytree(FIXTURES / "backend", tmp_path, dirs_exist_ok=True)
    tf = Terraform(tmp_path, url)
    key = "env/probe/terraform.tfstate"
    tf.run(
        "init",
        "-no-color",
        "-input=false",
        f"-backend-config=bucket={bucket}",
        f"-backend-config=key={key}",
        "-backend-config=region=us-east-1",
        "-backend-config=use_lockfile=true",
        *probe.emulator.s3_backend_args(),
    )
    tf.run("apply", "-auto-approve", "-no-color", "-input=false")
    state = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert [r["type"] for r in state["resources"]] == ["aws_ssm_parameter"]
    assert tf.run("plan", "-detailed-exitcode", "-no-color", "-input=false", check=False).returncode == 0

    # The lock is an S3 object created with If-None-Match: a second writer must fail.
    lock_key = f"{key}.tflock"
    lock = {"ID": "00000000-0000-0000-0000-000000000001", "Operation": "OperationTypeApply", "Who": "other@host",
            "Version": "1.11.4", "Created": "2026-01-01T00:00:00Z", "Path": f"{bucket}/{key}", "Info": ""}
    s3.put_object(Bucket=bucket, Key=lock_key, Body=json.dumps(lock).encode(), IfNoneMatch="*")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key=lock_key, Body=b"{}", IfNoneMatch="*")
    assert exc.value.response["Error"]["Code"] == "PreconditionFailed"
    locked = tf.run("plan", "-lock-timeout=0s", "-no-color", "-input=false", check=False)
    assert locked.returncode != 0 and "Error acquiring the state lock" in locked.output
    tf.run("force-unlock", "-force", lock["ID"])

    tf.run("destroy", "-auto-approve", "-no-color", "-input=false")
    state = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert state["resources"] == []
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key=lock_key)


def test_probe_destroy_leaves_nothing(probe: ProbeRun) -> None:
    assert probe.destroy_thread is not None, "apply test did not run"
    probe.destroy_thread.join(timeout=900)
    assert probe.destroy is not None and probe.destroy.returncode == 0, (
        probe.destroy.output[-6000:] if probe.destroy else "destroy did not finish"
    )
    assert probe.tf.run("state", "list").output.strip() == ""
    assert _server_errors(probe.trace) == []
    # Spot-check through the API that the fills really removed what was created.
    session: Any = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    memorydb = session.client("memorydb", endpoint_url=probe.emulator.url)
    assert memorydb.describe_clusters()["Clusters"] == []
    assert [a["Name"] for a in memorydb.describe_acls()["ACLs"]] == ["open-access"]
    groups = [g["Name"] for g in memorydb.describe_parameter_groups()["ParameterGroups"]]
    assert all(name.startswith("default.") for name in groups)
    aas = session.client("application-autoscaling", endpoint_url=probe.emulator.url)
    assert aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []
