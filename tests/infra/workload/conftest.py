"""Helpers and fixtures of the workload tests.

The environment stacks come from `tests/infra/conftest.py` (`synthesized`: every stack
synthesized once per test session, the way `python main.py` does it). One more stack is
synthesized here: prod with an ACM certificate, the only way to see the HTTPS listener.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from tests.infra.conftest import ENVIRONMENTS

CERTIFICATE_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0123abcd-0123-4567-89ab-0123456789ab"


def resources(stack: dict, kind: str) -> dict[str, dict]:
    return stack.get("resource", {}).get(kind, {})


def only(stack: dict, kind: str) -> dict:
    (value,) = resources(stack, kind).values()
    return value


def as_text(stack: dict) -> str:
    return json.dumps(stack)


def container(stack: dict) -> dict:
    """The session service's container definition (a JSON document with interpolations)."""
    (definition,) = json.loads(only(stack, "aws_ecs_task_definition")["container_definitions"])
    return definition


_ACTION = re.compile(r'"(Not)?Action"\s*=\s*(\[[^\]]*\]|"[^"]*")')
_EFFECT = re.compile(r'"Effect"\s*=\s*"(Allow|Deny)"')


def iam_actions(stack: dict, effect: str = "Allow") -> list[str]:
    """Every action of every statement with that effect, in every policy document (rendered as
    `jsonencode({...})` HCL, where a statement's Effect always comes before its Action)."""
    text = as_text(stack).replace('\\"', '"')
    actions: list[str] = []
    for match in _ACTION.finditer(text):
        effects = _EFFECT.findall(text, 0, match.start())
        if effects and effects[-1] == effect:
            actions += re.findall(r'"([^"]*)"', match.group(2))
    return actions


@pytest.fixture(scope="session")
def env_stacks(synthesized) -> dict[str, dict]:
    """Environment name -> synthesized Terraform JSON of its stack."""
    return {env: synthesized[f"session-{env}"] for env in ENVIRONMENTS}


@pytest.fixture(scope="session")
def https_stack() -> dict:
    """prod with a certificate: HTTPS listener, HTTP redirect."""
    from cdktf import Testing

    from stacks.config_loader import load_environment
    from stacks.environment_stack import EnvironmentStack

    settings = load_environment("prod")
    settings = replace(settings, load_balancer=replace(settings.load_balancer, certificate_arn=CERTIFICATE_ARN))
    return json.loads(Testing.synth(EnvironmentStack(Testing.app(), settings)))


def synth_with(env: str, **sections: dict) -> dict:
    """`env`'s stack synthesized with some settings changed: synth_with("dev", network={...})."""
    from cdktf import Testing

    from stacks.config_loader import load_environment
    from stacks.environment_stack import EnvironmentStack
    from stacks.validation import validate

    settings = load_environment(env)
    settings = replace(settings, **{name: replace(getattr(settings, name), **values) for name, values in sections.items()})
    validate(settings)
    return json.loads(Testing.synth(EnvironmentStack(Testing.app(), settings)))
