"""`session-bootstrap`: the S3 bucket that holds every environment's Terraform state.

It keeps its own state locally (the bucket cannot hold the state that creates it). Apply it
once per account before the first environment: `cdktf deploy session-bootstrap`.
"""

from __future__ import annotations

from cdktf import LocalBackend, TerraformOutput, TerraformStack
from constructs import Construct

from stacks.provider import aws_provider
from stacks.secure_bucket import SecureBucket, SecureBucketProps
from stacks.settings import BackendSettings

STACK_NAME = "session-bootstrap"


class BootstrapStack(TerraformStack):
    def __init__(self, scope: Construct, backend: BackendSettings, project: str):
        super().__init__(scope, STACK_NAME)
        LocalBackend(self, path=f"terraform.{STACK_NAME}.tfstate")
        aws_provider(self, backend.state_region, "shared", project)
        bucket = SecureBucket(self, "state", SecureBucketProps(bucket_name=backend.state_bucket))
        TerraformOutput(self, "state_bucket", value=bucket.bucket_name,
                        description="S3 bucket holding every environment's Terraform state")
        TerraformOutput(self, "state_region", value=backend.state_region)
