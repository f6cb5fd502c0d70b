"""An S3 bucket with the settings every bucket of ours needs.

Versioning, default encryption, all public access blocked, ACLs disabled (bucket owner
enforced), a policy that denies non-TLS access (plus any extra statements), and expiry of
old noncurrent versions and abandoned multipart uploads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Optional

from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct

from stacks import policies


@dataclass(frozen=True)
class SecureBucketProps:
    bucket_name: str
    # "aws:kms" (state, data) or "AES256" (ALB access logs: the only encryption ALB supports).
    encryption: Literal["aws:kms", "AES256"] = "aws:kms"
    kms_key_arn: Optional[str] = None  # None with aws:kms: the AWS-managed key for S3
    noncurrent_version_days: int = 90
    expire_current_after_days: Optional[int] = None  # logs: drop objects after N days
    extra_policy_statements: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    force_destroy: bool = False


class SecureBucket(Construct):
    """Exposes `bucket_name`, `bucket_arn` and `policy` (resources that write need it first)."""

    def __init__(self, scope: Construct, id: str, props: SecureBucketProps):
        super().__init__(scope, id)
        bucket = S3Bucket(self, "bucket", bucket=props.bucket_name, force_destroy=props.force_destroy)
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        S3BucketVersioningA(self, "versioning", bucket=bucket.id,
                            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"))
        S3BucketServerSideEncryptionConfigurationA(
            self, "encryption", bucket=bucket.id,
            rule=[S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=(
                    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm=props.encryption, kms_master_key_id=props.kms_key_arn)),
                bucket_key_enabled=props.encryption == "aws:kms")])
        access_block = S3BucketPublicAccessBlock(self, "public-access-block", bucket=bucket.id,
                                                 block_public_acls=True, block_public_policy=True,
                                                 ignore_public_acls=True, restrict_public_buckets=True)
        S3BucketOwnershipControls(self, "ownership", bucket=bucket.id,
                                  rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"))
        self.policy = S3BucketPolicy(
            self, "policy", bucket=bucket.id, depends_on=[access_block],
            policy=policies.document(policies.deny_insecure_transport(bucket.arn), *props.extra_policy_statements))
        self._lifecycle(bucket.id, props)

    def _lifecycle(self, bucket_id: str, props: SecureBucketProps) -> None:
        expiration = ([S3BucketLifecycleConfigurationRuleExpiration(days=props.expire_current_after_days)]
                      if props.expire_current_after_days else None)
        S3BucketLifecycleConfiguration(self, "lifecycle", bucket=bucket_id, rule=[
            S3BucketLifecycleConfigurationRule(
                id="expire-old-versions", status="Enabled",
                filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                expiration=expiration,
                noncurrent_version_expiration=[S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                    noncurrent_days=props.noncurrent_version_days)],
                abort_incomplete_multipart_upload=[
                    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=7)],
            )])
