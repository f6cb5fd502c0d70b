"""What the ECS agent does with a synthesized task definition before it starts a container.

Reads the container definition of a stack's `aws_ecs_task_definition` from cdk.tf.json,
resolves the Terraform references it holds the way `terraform apply` would (literal
attributes of other resources, variable defaults, parameter ARNs), and resolves `secrets`
through Parameter Store with `ssm:GetParameters` by ARN, WithDecryption, ten names per call,
as the agent does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

_REFERENCE = re.compile(r"\$\{([^{}]+)\}")


@dataclass
class Stack:
    document: dict

    @classmethod
    def load(cls, path: Path) -> "Stack":
        return cls(json.loads(path.read_text()))

    def resources(self, kind: str) -> dict[str, dict]:
        return self.document["resource"].get(kind, {})

    def only(self, kind: str) -> dict:
        (resource,) = self.resources(kind).values()
        return resource

    def container_definition(self) -> dict:
        (container,) = json.loads(self.only("aws_ecs_task_definition")["container_definitions"])
        return container

    def region(self) -> str:
        (provider,) = self.document["provider"]["aws"]
        return provider["region"]

    def reference(self, expression: str) -> str:
        """The value of one `${...}` reference that is known before apply, else KeyError."""
        parts = expression.split(".")
        if parts[0] == "var":
            return str(self.document["variable"][parts[1]]["default"])
        kind, name, attribute = parts[0], parts[1], ".".join(parts[2:])
        value = self.resources(kind)[name].get(attribute)
        if value is None or not isinstance(value, (str, int, float)):
            raise KeyError(f"{expression} is only known after apply")
        return str(value)

    def resolve(self, text: str, known: dict[str, str] | None = None, *, strict: bool = True) -> str:
        """`text` with every reference replaced: from `known` first, else from the stack.

        Not `strict`: what is only known after apply (a function, a computed attribute) is
        left as written, for values the service only passes through.
        """
        known = known or {}

        def value(match: re.Match) -> str:
            expression = match.group(1)
            if expression in known:
                return known[expression]
            try:
                return self.reference(expression)
            except (KeyError, IndexError):
                if strict:
                    raise
                return match.group(0)

        return _REFERENCE.sub(value, text)


@dataclass
class Parameter:
    name: str
    type: str
    value: str  # as synthesized; may hold references
    arn_reference: str  # "aws_ssm_parameter.<id>.arn", what `secrets` name it by


@dataclass
class AgentView:
    """A container as the agent starts it: resolved environment and what came from where."""

    environment: dict[str, str]
    secrets: dict[str, str] = field(default_factory=dict)  # variable -> value from Parameter Store
    arns: dict[str, str] = field(default_factory=dict)  # variable -> parameter ARN


def parameters(stack: Stack) -> dict[str, Parameter]:
    """The stack's Parameter Store parameters, by name."""
    out = {}
    for resource_id, resource in stack.resources("aws_ssm_parameter").items():
        out[resource["name"]] = Parameter(resource["name"], resource["type"], str(resource["value"]),
                                          f"aws_ssm_parameter.{resource_id}.arn")
    return out


def parameter_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:ssm:{region}:{account}:parameter/{name.lstrip('/')}"


def resolve_secrets(ssm, arns: dict[str, str]) -> dict[str, str]:
    """variable -> value, by `ssm:GetParameters` on the ARNs (ten per call, decrypted).

    Any ARN Parameter Store does not know fails, as the task would fail to start.
    """
    by_arn: dict[str, str] = {}
    names = sorted(set(arns.values()))
    for start in range(0, len(names), 10):
        page = ssm.get_parameters(Names=names[start:start + 10], WithDecryption=True)
        if page["InvalidParameters"]:
            raise LookupError(f"ResourceInitializationError: unable to retrieve secrets: {page['InvalidParameters']}")
        for parameter in page["Parameters"]:
            by_arn[parameter["ARN"]] = parameter["Value"]
    return {variable: by_arn[arn] for variable, arn in arns.items()}
