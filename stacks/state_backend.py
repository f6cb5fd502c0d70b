"""Terraform state in the state bucket: the environment stacks always, `session-bootstrap` once
`[backend] bootstrap_state = "bucket"`."""

from __future__ import annotations

from cdktf import S3Backend, TerraformStack

from stacks import toolchain
from stacks.settings import BackendSettings


def s3_backend(stack: TerraformStack, backend: BackendSettings, key: str) -> None:
    """Encrypted state at `key` with S3-native state locking (Terraform >= 1.10)."""
    # cdktn's S3Backend has the `use_lockfile` argument; cdktf 0.21's lacks it, so an override
    # writes the same key there.
    native_lock = toolchain.supports("s3_backend_use_lockfile")
    S3Backend(stack, bucket=backend.state_bucket, key=key, region=backend.state_region, encrypt=True,
              **({"use_lockfile": True} if native_lock else {}))
    if not native_lock:
        stack.add_override("terraform.backend.s3.use_lockfile", True)
