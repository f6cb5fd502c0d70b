"""ECS: container definitions stored the way AWS stores them, so plans compare like on AWS.

RegisterTaskDefinition on AWS does not keep the document it was sent: DescribeTaskDefinition
returns it with defaults filled in. The provider (hashicorp/aws 5.100,
internal/service/ecs/container_definitions.go, `containerDefinitions.reduce`) forgives
some of these differences (top-level empty lists, `essential`, health check defaults,
`protocol: tcp`, an awsvpc `hostPort` equal to `containerPort`) and not others: everything
nested deeper is compared as sent. Because `container_definitions` forces a new task
definition, a difference the provider does not forgive replaces the task definition, and so
redeploys the fleet, on every plan against real AWS. moto 5.2.5 stores what it was sent
(plus `cpu`, `portMappings`, `essential`, `environment`, `mountPoints`, `volumesFrom`
defaults), so the deploy cycle's "second plan is empty" check could not see this class.
Each normalization below copies what AWS returns:

- `linuxParameters.capabilities`: AWS persists `{"drop": ["ALL"]}` as
  `{"add": [], "drop": ["ALL"]}` (braintrustdata/terraform-aws-braintrust-data-plane
  PR #335: "ForceNew-replaced on every plan", fixed by sending `"add": []`), and drops an
  empty `capabilities: {}` on read-back (TerraConstructs/base PR #158). Not forgiven.
- `portMappings[].hostPort` with `awsvpc`: "the hostPort can either be left blank or set to
  the same value as the containerPort" (ECS developer guide, task definition parameters);
  AWS returns it set. Forgiven (`isAWSVPC` in `reduce`).
- `systemControls`: returned as `[]` when omitted (the read-back diffs quoted in
  hashicorp/terraform-aws-consul-ecs issue #318). Forgiven (empty top-level list).
"""

from typing import Any

from moto.ecs.models import TaskDefinition

from emulator.fills._patch import wrap_method


def normalize_container(definition: dict[str, Any], network_mode: str | None) -> None:
    """Fill in, in place, what AWS adds to one stored container definition."""
    linux = definition.get("linuxParameters") or {}
    capabilities = linux.get("capabilities")
    if capabilities == {}:
        del linux["capabilities"]
    elif capabilities is not None:
        capabilities.setdefault("add", [])
        capabilities.setdefault("drop", [])
    if network_mode == "awsvpc":
        for mapping in definition.get("portMappings") or []:
            if mapping.get("hostPort") in (None, 0) and "containerPort" in mapping:
                mapping["hostPort"] = mapping["containerPort"]
    definition.setdefault("systemControls", [])


def _init_wrapper(original: Any, self: TaskDefinition, *args: Any, **kwargs: Any) -> None:
    original(self, *args, **kwargs)
    for definition in self.container_definitions:
        normalize_container(definition, self.network_mode)


def apply() -> None:
    wrap_method(TaskDefinition, "__init__", _init_wrapper)
