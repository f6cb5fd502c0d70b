"""Deploy-check-destroy of the resource types of issue 10 parts 3-5 with the real provider:
S3 gateway and interface endpoints, egress to a prefix list, e-mail subscriptions on the
encrypted alarm topic and the unencrypted MemoryDB events topic, the new alarms, flow logs
to an SSE-KMS bucket with expiry, and ECS deployment alarms (fixtures/egress_alerts).
About 2.5 minutes, mostly the provider's S3 lifecycle wait."""

from __future__ import annotations

import shutil
from pathlib import Path

import boto3
import pytest

from emulator import start_emulator
from emulator_tf import FIXTURES, Terraform

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on the PATH")


def test_egress_and_alert_resources_apply_plan_clean_and_destroy(tmp_path: Path) -> None:
    trace = tmp_path / "emulator-trace.log"
    trace.touch()
    workdir = tmp_path / "work"
    shutil.copytree(FIXTURES / "egress_alerts", workdir)
    with start_emulator(log_path=tmp_path / "emulator.log", trace_path=trace) as handle:
        tf = Terraform(workdir, handle.url)
        tf.run("init", "-no-color", "-input=false")
        tf.run("apply", "-auto-approve", "-no-color", "-input=false", "-parallelism=20")
        plan = tf.run("plan", "-detailed-exitcode", "-no-color", "-input=false", check=False)
        assert plan.returncode == 0, f"second plan is not clean:\n{plan.output[-6000:]}"

        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        ecs = session.client("ecs", endpoint_url=handle.url)
        (service,) = ecs.describe_services(cluster="egress", services=["egress-service"])["services"]
        assert service["deploymentConfiguration"]["alarms"] == {
            "alarmNames": ["egress-store-auth-failures", "egress-store-errors", "egress-alb-5xx-rate"],
            "enable": True, "rollback": True}
        ec2 = session.client("ec2", endpoint_url=handle.url)
        kinds = sorted(e["VpcEndpointType"] for e in ec2.describe_vpc_endpoints()["VpcEndpoints"])
        assert kinds == ["Gateway"] + ["Interface"] * 5
        (flow,) = ec2.describe_flow_logs()["FlowLogs"]
        assert flow["LogDestinationType"] == "s3"

        tf.run("destroy", "-auto-approve", "-no-color", "-input=false", "-parallelism=20")
        assert tf.run("state", "list").output.strip() == ""
    errors = [line for line in trace.read_text().splitlines() if line.startswith(("5", "EXC"))]
    assert errors == []
