"""`session-<env>`: one environment's whole system, with its state in S3.

Wires the constructs together; each construct gets only its part of the settings and
exposes only what its neighbours need.
"""

from __future__ import annotations

from cdktf import S3Backend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from constructs import Construct

from stacks.encryption import EncryptionKey, EncryptionKeyProps
from stacks.names import ResourceNames
from stacks.network import Network, NetworkProps
from stacks.provider import aws_provider
from stacks.settings import EnvironmentSettings
from stacks.variables import define_variables


class EnvironmentStack(TerraformStack):
    def __init__(self, scope: Construct, settings: EnvironmentSettings):
        super().__init__(scope, settings.stack_name)
        self._backend(settings)
        aws_provider(self, settings.region, settings.name, settings.project)
        names = ResourceNames(settings.name_prefix)
        self.variables = define_variables(self, settings)
        account_id = DataAwsCallerIdentity(self, "account").account_id
        partition = DataAwsPartition(self, "partition").partition

        key = EncryptionKey(self, "encryption", EncryptionKeyProps(
            name_prefix=settings.name_prefix, account_id=account_id, region=settings.region,
            partition=partition))
        network = Network(self, "network", NetworkProps(
            name_prefix=settings.name_prefix, settings=settings.network,
            flow_logs_role_name=names.flow_logs_role, account_id=account_id, kms_key_arn=key.key_arn))

        self._output("vpc_id", network.vpc_id, "ID of the VPC")
        self._output("public_subnet_ids", network.public_subnet_ids, "Public subnets (load balancer, NAT)")
        self._output("private_subnet_ids", network.private_subnet_ids, "Private subnets (tasks, session store)")
        self._output("kms_key_arn", key.key_arn, "Customer-managed KMS key of this environment")

    def _backend(self, settings: EnvironmentSettings) -> None:
        S3Backend(self, bucket=settings.backend.state_bucket, key=settings.state_key,
                  region=settings.backend.state_region, encrypt=True)
        # S3-native state locking (Terraform >= 1.10); cdktf 0.21's S3Backend lacks the option.
        self.add_override("terraform.backend.s3.use_lockfile", True)

    def _output(self, name: str, value, description: str) -> None:
        TerraformOutput(self, name, value=value, description=description)
