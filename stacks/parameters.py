"""Parameter Store: the configuration the session service receives, per environment.

Everything lives under the environment's own prefix (`/session-app/<env>/`), so two
environments can never overwrite each other's values. All parameters are SecureStrings
encrypted with the environment's key: none is a secret today (there is no password), but
one rule for all keeps readers, policies and audits simple and costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn, TerraformLocal, TerraformResourceLifecycle, Precondition, Token
from cdktf_cdktf_provider_aws.ssm_parameter import SsmParameter
from constructs import Construct

from stacks.contract import PARAMETERS
from stacks.variables import hcl


@dataclass(frozen=True)
class ParametersProps:
    prefix: str  # "/session-app/<env>/"
    region: str
    account_id: str
    partition: str
    kms_key_arn: str
    store_endpoint: str
    store_port: int
    store_user_name: str
    store_cluster_name: str
    store_auth_mode: str
    idle_timeout_seconds: float  # Terraform variable token
    absolute_lifetime_seconds: int


class Parameters(Construct):
    """Exposes `secrets` (environment variable -> parameter ARN, for ECS `secrets`),
    `path_arn` (the IAM resource covering exactly this environment's parameters), `names`
    and `digest` (Terraform's sha256 of every value)."""

    def __init__(self, scope: Construct, id: str, props: ParametersProps):
        super().__init__(scope, id)
        values = {
            "memorydb/endpoint": props.store_endpoint,
            "memorydb/port": str(props.store_port),
            "memorydb/username": props.store_user_name,
            "memorydb/tls": "true",
            "memorydb/auth-mode": props.store_auth_mode,
            "memorydb/cluster-name": props.store_cluster_name,
            "config/redis-db": "0",  # MemoryDB is always cluster mode: database 0 only
            "config/session-timeout": Token.as_string(props.idle_timeout_seconds),
            "config/session-absolute-lifetime": str(props.absolute_lifetime_seconds),
        }
        self.names: dict[str, str] = {}
        self.secrets: dict[str, str] = {}
        for key, value in values.items():
            parameter = self._parameter(props, key, value)
            self.names[key] = f"{props.prefix}{key}"
            self.secrets[PARAMETERS[key]] = parameter.arn
        # ECS resolves `secrets` only when a task starts: a digest of the values in the
        # container's environment makes a changed value (or an endpoint unknown until a
        # replaced cluster exists) a new task definition revision, so the tasks roll.
        # A local, so the container definition (a JSON string) holds a plain `${local.x}`.
        digest = TerraformLocal(self, "config_digest", Fn.sha256(Fn.jsonencode(values)))
        digest.override_logical_id("session_config_digest")
        self.digest: str = digest.as_string
        path = props.prefix.strip("/")
        self.path_arn = f"arn:{props.partition}:ssm:{props.region}:{props.account_id}:parameter/{path}/*"

    def _parameter(self, props: ParametersProps, key: str, value: str) -> SsmParameter:
        lifecycle = None
        if key == "config/session-timeout":
            lifecycle = TerraformResourceLifecycle(precondition=[Precondition(
                condition=hcl(f"var.session_timeout_seconds <= {props.absolute_lifetime_seconds}"),
                error_message="session_timeout_seconds must not exceed the absolute session lifetime "
                              f"({props.absolute_lifetime_seconds} s).")])
        return SsmParameter(self, key.replace("/", "-"), name=f"{props.prefix}{key}", type="SecureString",
                            key_id=props.kms_key_arn, value=value, tier="Standard",
                            description=f"Session service: {PARAMETERS[key]}", lifecycle=lifecycle)
