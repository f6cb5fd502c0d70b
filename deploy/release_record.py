"""The running image digest in Parameter Store: written by every release, read by every plan.

`stacks.variables` reads `/<project>/<env>/release/image-digest` at plan time, so `cdktf deploy`
or `terraform apply` from a clean clone keeps the image that runs instead of planning the
service away. The stack never manages this parameter itself: a destroy or a plan without it
must not delete the record of what runs.
"""

from __future__ import annotations

from typing import Any


def release_parameter(parameter_prefix: str) -> str:
    # Late: stacks.variables loads cdktf (seconds), which `python -m localdev down` never needs.
    from stacks.variables import release_parameter_name

    return release_parameter_name(parameter_prefix)


def record_release(ssm: Any, parameter_prefix: str, digest: str) -> str:
    """PutParameter (String, overwrite) of `digest`; returns the parameter's name. A digest is no
    secret, and a plain String needs no KMS grant for the plan's reader."""
    name = release_parameter(parameter_prefix)
    ssm.put_parameter(Name=name, Value=digest, Type="String", Overwrite=True,
                      Description="Image digest the ECS service runs; written by make release")
    return name


def released_digest(ssm: Any, parameter_prefix: str) -> str | None:
    """The recorded digest, None before the first release."""
    try:
        return ssm.get_parameter(Name=release_parameter(parameter_prefix))["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return None
