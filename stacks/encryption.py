"""The environment's customer-managed KMS key (rotation on).

One key per environment encrypts the session store, SecureString parameters, log groups,
SNS topics and the image repository. The key policy lets the account administer it and
lets CloudWatch Logs and SNS use it only for this account's resources.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from stacks import policies


# The account administers the key through IAM; listed instead of `kms:*` so that no policy
# in the project grants a whole service.
KEY_ADMINISTRATION = [
    "kms:CancelKeyDeletion", "kms:Create*", "kms:Delete*", "kms:Describe*", "kms:Disable*",
    "kms:Enable*", "kms:Get*", "kms:List*", "kms:Put*", "kms:Revoke*", "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:Update*",
]
KEY_USE = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]


@dataclass(frozen=True)
class EncryptionKeyProps:
    name_prefix: str
    account_id: str
    region: str
    partition: str
    deletion_window_days: int = 30


class EncryptionKey(Construct):
    def __init__(self, scope: Construct, id: str, props: EncryptionKeyProps):
        super().__init__(scope, id)
        root = f"arn:{props.partition}:iam::{props.account_id}:root"
        logs_arn = f"arn:{props.partition}:logs:{props.region}:{props.account_id}:*"
        key = KmsKey(
            self,
            "key",
            description=f"{props.name_prefix}: sessions, parameters, logs, alarms",
            enable_key_rotation=True,
            deletion_window_in_days=props.deletion_window_days,
            policy=policies.document(
                policies.statement(KEY_ADMINISTRATION + KEY_USE, "*", sid="AccountAdministers", principal={"AWS": root}),
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
                    # CloudWatch alarms and MemoryDB cluster events publish to encrypted SNS topics.
                    principal={"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com",
                                           "memorydb.amazonaws.com"]},
                    condition={"StringEquals": {"aws:SourceAccount": props.account_id}},
                ),
            ),
        )
        KmsAlias(self, "alias", name=f"alias/{props.name_prefix}", target_key_id=key.key_id)
        self.key_arn = key.arn
        self.key_id = key.key_id
