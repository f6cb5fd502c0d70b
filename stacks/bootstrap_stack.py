"""`session-bootstrap`: the S3 bucket that holds every environment's Terraform state, and the
session store keys of environments with final snapshots (stacks/retained_keys.py), which
must outlive those environments.

Its own state starts local (the bucket cannot hold the state that creates it), in
`terraform.session-bootstrap.tfstate` NEXT TO the output folder: the project root for
`python main.py`, `make synth` and `cdktf synth`. Never inside `cdktf.out/`, which `make synth`
and `make checkov` delete. Apply it once per account before the first environment:
`cdktf deploy session-bootstrap`. Once the bucket exists, `[backend] bootstrap_state = "bucket"`
moves that state into it (deploy/bootstrap_state.py), where no clean-up of a checkout reaches.
"""

from __future__ import annotations

from cdktf import LocalBackend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.provider import AwsProvider
from constructs import Construct

from stacks.names import ResourceNames
from stacks.provider import aws_provider
from stacks.retained_keys import RetainedStoreKey
from stacks.secure_bucket import SecureBucket, SecureBucketProps
from stacks.settings import BackendSettings
from stacks.state_backend import s3_backend

STACK_NAME = "session-bootstrap"
STATE_FILE = f"terraform.{STACK_NAME}.tfstate"
# Terraform resolves a relative local-backend path against its working directory, which cdktf
# makes `<outdir>/stacks/<stack>/`: three levels up is the folder holding the output folder.
# Relative, not absolute: the synthesized JSON stays the same on every machine. cdktf's own
# default (no path) is absolute (`process.cwd()`), hence machine-specific.
BOOTSTRAP_STATE_PATH = f"../../../{STATE_FILE}"


class BootstrapStack(TerraformStack):
    def __init__(self, scope: Construct, backend: BackendSettings, project: str,
                 retained_keys: tuple[tuple[ResourceNames, str], ...] = ()):
        """`retained_keys`: (names, region) of each environment whose store key must outlive it."""
        super().__init__(scope, STACK_NAME)
        if backend.bootstrap_state == "bucket":
            s3_backend(self, backend, backend.state_key(STACK_NAME))
        else:
            LocalBackend(self, path=BOOTSTRAP_STATE_PATH)
        aws_provider(self, backend.state_region, "shared", project)
        bucket = SecureBucket(self, "state", SecureBucketProps(bucket_name=backend.state_bucket))
        TerraformOutput(self, "state_bucket", value=bucket.bucket_name,
                        description="S3 bucket holding every environment's Terraform state")
        TerraformOutput(self, "state_region", value=backend.state_region)
        if retained_keys:
            account_id = DataAwsCallerIdentity(self, "account").account_id
            partition = DataAwsPartition(self, "partition").partition
        providers: dict[str, AwsProvider] = {}
        for names, region in retained_keys:
            # A key lives in one region: the environment's, through an aliased provider if that
            # is not the state bucket's region.
            if region != backend.state_region and region not in providers:
                providers[region] = aws_provider(self, region, "shared", project, alias=region)
            key = RetainedStoreKey(self, f"retained-{names.prefix}", names, account_id, partition,
                                   providers.get(region))
            TerraformOutput(self, f"retained_store_key_{names.prefix.replace('-', '_')}", value=key.key_arn,
                            description=f"Retained KMS key of {names.prefix}'s session store and final snapshots")
