"""The application plane's exposure: its port is reachable only from the security groups the
settings name, never through the load balancer or from a CIDR block; the task learns the
port and the trusted roles; bad settings fail at synth with the field and the rule."""

from __future__ import annotations

import dataclasses

import pytest

from stacks.settings import EnvironmentSettings
from stacks.validation import InvalidSettings, validate
from tests.infra.workload.conftest import container, resources, synth_with

CALLERS = ("sg-0123456789abcdef0", "sg-0fedcba9")
ROLES = ("arn:aws:iam::123456789012:role/app-backend",)


@pytest.fixture(scope="module")
def plane_stack() -> dict:
    return synth_with("dev", service={"app_plane_port": 8443, "app_plane_source_security_groups": CALLERS,
                                      "trusted_caller_arns": ROLES})


def test_the_plane_port_is_open_only_from_the_named_groups(plane_stack):
    service_group = next(f"${{aws_security_group.{k}.id}}" for k, g in resources(plane_stack, "aws_security_group").items()
                         if g["name"].endswith("-service"))
    on_port = [r for r in resources(plane_stack, "aws_vpc_security_group_ingress_rule").values() if r["from_port"] == 8443]
    assert sorted(r["referenced_security_group_id"] for r in on_port) == sorted(CALLERS)
    assert all(r["security_group_id"] == service_group and r["to_port"] == 8443 and "cidr_ipv4" not in r for r in on_port)
    # The load balancer never reaches it: no listener, target group or ALB-group egress on that port.
    assert all(t["port"] != 8443 for t in resources(plane_stack, "aws_lb_target_group").values())
    assert all(listener["port"] != 8443 for listener in resources(plane_stack, "aws_lb_listener").values())
    assert all(r.get("from_port") != 8443 for r in resources(plane_stack, "aws_vpc_security_group_egress_rule").values())


def test_the_task_gets_the_port_and_the_trusted_roles(plane_stack):
    definition = container(plane_stack)
    env = {e["name"]: e["value"] for e in definition["environment"]}
    assert env["SESSION_APP_PLANE_PORT"] == "8443" and env["SESSION_TRUSTED_CALLER_ARNS"] == ROLES[0]
    assert {m["containerPort"] for m in definition["portMappings"]} == {8080, 8443}


def test_off_by_default_no_rule_and_no_variable():
    stack = synth_with("dev")
    assert all(r["from_port"] != 8443 for r in resources(stack, "aws_vpc_security_group_ingress_rule").values())
    assert "SESSION_APP_PLANE_PORT" not in {e["name"] for e in container(stack)["environment"]}
    assert [m["containerPort"] for m in container(stack)["portMappings"]] == [8080]


def _service(**values) -> EnvironmentSettings:
    base = EnvironmentSettings(name="dev")
    return dataclasses.replace(base, service=dataclasses.replace(base.service, **values))


GOOD = {"app_plane_port": 8443, "app_plane_source_security_groups": CALLERS, "trusted_caller_arns": ROLES}


def test_good_plane_settings_pass():
    validate(_service(**GOOD))


@pytest.mark.parametrize("change, field, rule", [
    ({"app_plane_port": 80}, "service.app_plane_port", "1024-65535"),
    ({"app_plane_port": 8080}, "service.app_plane_port", "differ from container_port"),
    ({"app_plane_source_security_groups": ()}, "service.app_plane_source_security_groups", "at least one group"),
    ({"app_plane_source_security_groups": ("0.0.0.0/0",)}, "service.app_plane_source_security_groups", "security group ids"),
    ({"trusted_caller_arns": ()}, "service.trusted_caller_arns", "at least one role"),
    ({"trusted_caller_arns": ("arn:aws:iam::123456789012:user/alice",)}, "service.trusted_caller_arns", "must each be an IAM role ARN"),
])
def test_bad_plane_settings_name_the_field_and_the_rule(change, field, rule):
    with pytest.raises(InvalidSettings) as info:
        validate(_service(**{**GOOD, **change}))
    text = str(info.value)
    assert field in text and rule in text, text
