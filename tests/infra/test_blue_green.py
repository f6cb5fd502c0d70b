"""`[service] deployment_strategy = "blue_green"`: ECS native blue/green under the cdktn toolchain
(hashicorp/aws 6.x), refused by name under cdktf (aws 5.100), whose rolling deployment stays."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.conftest import ROOT
from tests.infra.test_toolchains import CDKTN_PYTHON
from tests.infra.workload.test_checkov import CHECKOV, CONFIGS

BLUE_GREEN = '[service]\ndesired_count = 1\nmin_capacity = 1\nmax_capacity = 4\ndeployment_strategy = "blue_green"\nbake_time_minutes = 10\n'


def config_with(tmp_path: Path, service_section: str) -> Path:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    dev = config / "dev.toml"
    text = dev.read_text()
    start = text.index("[service]\n")
    end = text.find("\n[", start + 1)
    dev.write_text(text[:start] + service_section + (text[end:] if end != -1 else ""))
    return config


def synth(python: Path, toolchain: str, config: Path, outdir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CDKTF_OUTDIR": str(outdir), "CDK_TOOLCHAIN": toolchain, "SESSION_CONFIG_DIR": str(config),
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "TMPDIR": str(outdir.parent)}
    env.pop("NODE_OPTIONS", None)
    return subprocess.run([str(python), "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_blue_green_is_refused_by_name_under_cdktf(tmp_path):
    result = synth(Path(sys.executable), "cdktf", config_with(tmp_path, BLUE_GREEN), tmp_path / "out")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "service.deployment_strategy" in result.stderr and "hashicorp/aws >= 6.4" in result.stderr
    assert "TOOLCHAIN=cdktn" in result.stderr


def test_bake_time_out_of_range_is_refused_by_name(tmp_path):
    result = synth(Path(sys.executable), "cdktf", config_with(tmp_path, BLUE_GREEN.replace("= 10", "= 2000")),
                   tmp_path / "out")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "service.bake_time_minutes" in result.stderr and "0-1440" in result.stderr


@pytest.fixture(scope="module")
def blue_green_stack(tmp_path_factory) -> Path:
    """session-dev with blue/green, synthesized by cdktn: its folder."""
    assert CDKTN_PYTHON.exists(), "the cdktn environment is missing: run `make install TOOLCHAIN=cdktn`"
    tmp_path = tmp_path_factory.mktemp("blue-green")
    result = synth(CDKTN_PYTHON, "cdktn", config_with(tmp_path, BLUE_GREEN), tmp_path / "out")
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp_path / "out" / "stacks" / "session-dev"


@pytest.fixture(scope="module")
def blue_green_dev(blue_green_stack) -> dict:
    return json.loads((blue_green_stack / "cdk.tf.json").read_text())


def test_blue_green_passes_checkov(blue_green_stack, tmp_path):
    """The new target group, listener rules and role pass dev's checkov configuration."""
    if not CHECKOV.exists():
        pytest.skip("checkov is not installed: run `make install` or `cd tools/checkov && pipenv sync`")
    config = tmp_path / "dev.yaml"
    config.write_text((CONFIGS / "dev.yaml").read_text().replace("  - cdktf.out/stacks/session-dev\n",
                                                                  f"  - {blue_green_stack}\n"))
    result = subprocess.run([str(CHECKOV), "--config-file", str(config), "-o", "json"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    report = json.loads(result.stdout)
    report = report if isinstance(report, dict) else report[0]
    assert report["summary"]["failed"] == 0, [c["check_id"] for c in report["results"]["failed_checks"]]
    assert report["summary"]["passed"] > 100


def test_cdktn_synthesizes_ecs_native_blue_green(blue_green_dev):
    resources = blue_green_dev["resource"]
    (service,) = resources["aws_ecs_service"].values()
    assert service["deployment_configuration"] == {"strategy": "BLUE_GREEN", "bake_time_in_minutes": "10"}
    assert service["deployment_circuit_breaker"] == {"enable": True, "rollback": True}  # kept: rolls back on failure
    (balancer,) = service["load_balancer"]
    advanced = balancer["advanced_configuration"]
    groups = resources["aws_lb_target_group"]
    assert len(groups) == 2
    alternate_id = next(k for k in groups if "alternate" in k)
    production_id = next(k for k in groups if "alternate" not in k)
    assert advanced["alternate_target_group_arn"] == f"${{aws_lb_target_group.{alternate_id}.arn}}"
    assert balancer["target_group_arn"] == f"${{aws_lb_target_group.{production_id}.arn}}"
    assert groups[alternate_id]["name"].endswith("-tg-alt")
    assert groups[alternate_id]["health_check"] == groups[production_id]["health_check"]
    rules = resources["aws_lb_listener_rule"]
    production = next(k for k in rules if "production" in k)
    test = next(k for k in rules if "test" in k)
    assert advanced["production_listener_rule"] == f"${{aws_lb_listener_rule.{production}.arn}}"
    assert advanced["test_listener_rule"] == f"${{aws_lb_listener_rule.{test}.arn}}"
    # ECS rewrites the weights during a deployment: Terraform must leave them alone.
    assert all(rule["lifecycle"]["ignore_changes"] == ["action"] for rule in rules.values())
    assert rules[test]["priority"] < rules[production]["priority"]  # test traffic is matched first
    role_id = advanced["role_arn"].split(".")[1]
    role = resources["aws_iam_role"][role_id]
    assert json.loads(role["assume_role_policy"])["Statement"][0]["Principal"] == {"Service": "ecs.amazonaws.com"}
    (attachment,) = (a for a in resources["aws_iam_role_policy_attachment"].values()
                     if a["role"] == f"${{aws_iam_role.{role_id}.name}}")
    assert attachment["policy_arn"].endswith(":iam::aws:policy/AmazonECS-InfrastructureRolePolicyForLoadBalancers")


def test_cdktn_writes_the_native_lock_file_argument(blue_green_dev):
    """cdktn's S3Backend has use_lockfile (Terraform >= 1.10 S3-native locking); cdktf gets an override."""
    assert blue_green_dev["terraform"]["backend"]["s3"]["use_lockfile"] is True


def test_an_unknown_strategy_is_refused_by_name(tmp_path):
    result = synth(Path(sys.executable), "cdktf", config_with(tmp_path, BLUE_GREEN.replace('"blue_green"', '"canary"')),
                   tmp_path / "out")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "deployment_strategy" in result.stderr and "rolling" in result.stderr, result.stderr[-1000:]
