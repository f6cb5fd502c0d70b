"""Amazon MemoryDB: the durable, shared session store.

Always cluster mode with TLS, encrypted at rest with the environment's key. Clients
authenticate as one MemoryDB user with IAM authentication (short-lived SigV4 tokens), so
no password exists anywhere: not in the synthesized JSON, not in Terraform state. That
user is the only member of the cluster's ACL and may touch only the service's keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from cdktf_cdktf_provider_aws.memorydb_acl import MemorydbAcl
from cdktf_cdktf_provider_aws.memorydb_cluster import MemorydbCluster
from cdktf_cdktf_provider_aws.memorydb_parameter_group import MemorydbParameterGroup
from cdktf_cdktf_provider_aws.memorydb_subnet_group import MemorydbSubnetGroup
from cdktf_cdktf_provider_aws.memorydb_user import MemorydbUser, MemorydbUserAuthenticationMode
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from constructs import Construct

from stacks.limits import memorydb_parameter_group_family
from stacks.names import ResourceNames
from stacks.security_groups import security_group
from stacks.settings import SessionStoreSettings


@dataclass(frozen=True)
class SessionStoreProps:
    names: ResourceNames
    settings: SessionStoreSettings
    # Terraform variable tokens (operators may change them at plan time).
    cluster_name: str
    node_type: str
    num_shards: float
    replicas_per_shard: float
    vpc_id: str
    subnet_ids: list[str]
    kms_key_arn: str
    # An existing topic for MemoryDB events (monitoring.alarm_topic_arn); None: the store's own topic.
    events_topic_arn: Optional[str] = None


class SessionStore(Construct):
    """Exposes `security_group_id`, `cluster_name`, `cluster_arn`, `user_name`, `user_arn`,
    `endpoint` (host), `port` and `tls`; the cluster's address is all clients need."""

    def __init__(self, scope: Construct, id: str, props: SessionStoreProps):
        super().__init__(scope, id)
        s, names = props.settings, props.names
        group = security_group(self, "security-group", names.store_security_group, props.vpc_id,
                               "MemoryDB session store: reachable only from the session service")
        subnets = MemorydbSubnetGroup(self, "subnet-group", name=names.store_subnet_group,
                                      subnet_ids=props.subnet_ids,
                                      description="Private subnets of the session store")
        parameters = MemorydbParameterGroup(
            self, "parameter-group", name=names.store_parameter_group,
            family=memorydb_parameter_group_family(s.engine, s.engine_version),
            description="Session store engine parameters (engine defaults unless tuned here)")
        user = self._user(names, s)
        acl = MemorydbAcl(self, "acl", name=names.store_acl, user_names=[user.user_name])
        # Not encrypted, on purpose: MemoryDB documents "do not use an encrypted Amazon SNS topic for
        # event notifications" (docs/architecture.md). Events carry cluster and node names only.
        events_topic_arn = props.events_topic_arn or SnsTopic(self, "events", name=names.store_events_topic).arn
        cluster = MemorydbCluster(
            self, "cluster",
            name=props.cluster_name,
            description=f"Sessions of {names.prefix}",
            engine=s.engine, engine_version=s.engine_version,
            node_type=props.node_type, num_shards=props.num_shards,
            num_replicas_per_shard=props.replicas_per_shard,
            port=s.port, acl_name=acl.name,
            parameter_group_name=parameters.name, subnet_group_name=subnets.name,
            security_group_ids=[group.id],
            tls_enabled=True, kms_key_arn=props.kms_key_arn,
            snapshot_retention_limit=s.snapshot_retention_days, snapshot_window=s.snapshot_window,
            maintenance_window=s.maintenance_window, auto_minor_version_upgrade=s.auto_minor_version_upgrade,
            final_snapshot_name=names.store_final_snapshot if s.final_snapshot else None,
            sns_topic_arn=events_topic_arn,
        )
        self.security_group_id = group.id
        self.cluster_name = cluster.name
        self.cluster_arn = cluster.arn
        self.user_name = user.user_name
        self.user_arn = user.arn
        self.endpoint = cluster.cluster_endpoint.get(0).address
        self.port = s.port
        self.tls = True
        self.events_topic_arn = events_topic_arn

    def _user(self, names: ResourceNames, s: SessionStoreSettings) -> MemorydbUser:
        """IAM authentication: the task role's `memorydb:Connect` is the only credential."""
        return MemorydbUser(self, "user", user_name=names.store_user, access_string=s.access_string,
                            authentication_mode=MemorydbUserAuthenticationMode(type="iam"))
