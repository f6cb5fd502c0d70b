"""`session-bootstrap`: the S3 bucket that holds every environment's Terraform state.

It keeps its own state locally (the bucket cannot hold the state that creates it), in
`terraform.session-bootstrap.tfstate` NEXT TO the output folder: the project root for
`python main.py`, `make synth` and `cdktf synth`. Never inside `cdktf.out/`, which `make synth`
and `make checkov` delete. Apply it once per account before the first environment:
`cdktf deploy session-bootstrap`.
"""

from __future__ import annotations

from cdktf import LocalBackend, TerraformOutput, TerraformStack
from constructs import Construct

from stacks.provider import aws_provider
from stacks.secure_bucket import SecureBucket, SecureBucketProps
from stacks.settings import BackendSettings

STACK_NAME = "session-bootstrap"
STATE_FILE = f"terraform.{STACK_NAME}.tfstate"
# Terraform resolves a relative local-backend path against its working directory, which cdktf
# makes `<outdir>/stacks/<stack>/`: three levels up is the folder holding the output folder.
# Relative, not absolute: the synthesized JSON stays the same on every machine. cdktf's own
# default (no path) is absolute (`process.cwd()`), hence machine-specific.
BOOTSTRAP_STATE_PATH = f"../../../{STATE_FILE}"


class BootstrapStack(TerraformStack):
    def __init__(self, scope: Construct, backend: BackendSettings, project: str):
        super().__init__(scope, STACK_NAME)
        LocalBackend(self, path=BOOTSTRAP_STATE_PATH)
        aws_provider(self, backend.state_region, "shared", project)
        bucket = SecureBucket(self, "state", SecureBucketProps(bucket_name=backend.state_bucket))
        TerraformOutput(self, "state_bucket", value=bucket.bucket_name,
                        description="S3 bucket holding every environment's Terraform state")
        TerraformOutput(self, "state_region", value=backend.state_region)
