"""The environment's customer-managed KMS key (rotation on).

One key per environment encrypts the session store, SecureString parameters, log groups,
the alarm topic and the image repository. The key policy delegates to the account (AWS's
default key policy: the root principal gets kms:*, which only enables IAM policies to grant
use of the key; nothing is granted to anyone by it), so the roles' IAM policies decide, and
AWS services that hold grants (MemoryDB, ECS) can retire them (kms:RetireGrant, which an
enumerated list lacked). It lets CloudWatch Logs use it for this account's log groups, lets CloudWatch alarms publish to
the encrypted alarm topic, and (only when flow logs go to S3) lets the log delivery service
encrypt the objects it writes. Each service grant serves one rule in docs/architecture.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from stacks import policies


# "Allows access to the AWS account and enables IAM policies" (KMS developer guide, "Default
# key policy"): delegation to the account, which IAM policies then narrow per role.
ACCOUNT_DELEGATION_SID = "EnableIamPolicies"


@dataclass(frozen=True)
class EncryptionKeyProps:
    name_prefix: str
    account_id: str
    region: str
    partition: str
    deletion_window_days: int = 30
    # VPC flow logs delivered to an SSE-KMS bucket: delivery.logs.amazonaws.com must use the key.
    log_delivery: bool = False


class EncryptionKey(Construct):
    def __init__(self, scope: Construct, id: str, props: EncryptionKeyProps):
        super().__init__(scope, id)
        root = f"arn:{props.partition}:iam::{props.account_id}:root"
        logs_arn = f"arn:{props.partition}:logs:{props.region}:{props.account_id}:*"
        alarms_arn = f"arn:{props.partition}:cloudwatch:{props.region}:{props.account_id}:alarm:{props.name_prefix}-*"
        key = KmsKey(
            self,
            "key",
            description=f"{props.name_prefix}: sessions, parameters, logs, alarms",
            enable_key_rotation=True,
            deletion_window_in_days=props.deletion_window_days,
            policy=policies.document(
                policies.statement(["kms:*"], "*", sid=ACCOUNT_DELEGATION_SID, principal={"AWS": root}),
                policies.statement(
                    ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                    "*",
                    sid="CloudWatchLogsUse",
                    principal={"Service": f"logs.{props.region}.amazonaws.com"},
                    condition={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": logs_arn}},
                ),
                policies.statement(
                    ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "*",
                    sid="AlarmPublishing",
                    # CloudWatch alarms publish to the CMK-encrypted alarm topic (SNS developer guide,
                    # "compatibility between event sources from AWS services and encrypted topics").
                    # MemoryDB events do not: MemoryDB documents that its topic must not be encrypted.
                    principal={"Service": "cloudwatch.amazonaws.com"},
                    condition={"StringEquals": {"aws:SourceAccount": props.account_id},
                               "ArnLike": {"aws:SourceArn": alarms_arn}},
                ),
                *([policies.statement(
                    ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
                    "*",
                    sid="LogDeliveryUse",
                    # Vended logs (VPC flow logs) to an SSE-KMS bucket (CloudWatch Logs user guide,
                    # "Amazon S3 bucket server-side encryption").
                    principal={"Service": "delivery.logs.amazonaws.com"},
                    condition={"StringEquals": {"aws:SourceAccount": props.account_id},
                               "ArnLike": {"aws:SourceArn": logs_arn}},
                )] if props.log_delivery else []),
            ),
        )
        KmsAlias(self, "alias", name=f"alias/{props.name_prefix}", target_key_id=key.key_id)
        self.key_arn = key.arn
        self.key_id = key.key_id
