"""KMS keys that outlive an environment: the session store's key where final snapshots are on.

A MemoryDB snapshot is encrypted with its cluster's key, and `destroy` of an environment
schedules that environment's key for deletion: the "final" snapshot would become unrestorable
within the deletion window. Keys made here belong to `session-bootstrap`, which is applied once
per account and never destroyed with an environment; the environment finds its key by alias
(`ResourceNames.store_retained_key_alias`). AWS has no MemoryDB snapshot copy to another key
(CopySnapshot keeps the source key unless a KmsKeyId is given, and hashicorp/aws 5.100 has no
resource for it), so the cluster itself uses the retained key.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.provider import AwsProvider
from constructs import Construct

from stacks import policies
from stacks.encryption import ACCOUNT_DELEGATION_SID
from stacks.names import ResourceNames


class RetainedStoreKey(Construct):
    """One environment's retained session store key, with its alias."""

    def __init__(self, scope: Construct, id: str, names: ResourceNames, account_id: str, partition: str,
                 provider: AwsProvider | None = None):
        super().__init__(scope, id)
        root = f"arn:{partition}:iam::{account_id}:root"
        key = KmsKey(self, "key", provider=provider, description=f"{names.prefix}: session store and its final snapshots (retained)",
                     enable_key_rotation=True, deletion_window_in_days=30,
                     # Delegated to the account: MemoryDB uses the key through grants that the
                     # applying principal's IAM policy lets it create (kms:CreateGrant).
                     policy=policies.document(policies.statement(["kms:*"], "*", sid=ACCOUNT_DELEGATION_SID,
                                                                 principal={"AWS": root})))
        KmsAlias(self, "alias", provider=provider, name=names.store_retained_key_alias, target_key_id=key.key_id)
        self.key_arn = key.arn
