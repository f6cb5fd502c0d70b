"""Amazon MemoryDB: the durable, shared session store.

Always cluster mode with TLS, encrypted at rest with the environment's key. Clients
authenticate as one MemoryDB user with IAM authentication (short-lived SigV4 tokens), so
no password exists anywhere: not in the synthesized JSON, not in Terraform state. That
user is the only member of the cluster's ACL and may touch only the service's keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from cdktf import DataResource, Fn, TerraformResourceLifecycle, Token
from cdktf_cdktf_provider_aws.memorydb_acl import MemorydbAcl
from cdktf_cdktf_provider_aws.memorydb_cluster import MemorydbCluster
from cdktf_cdktf_provider_aws.memorydb_parameter_group import MemorydbParameterGroup, MemorydbParameterGroupParameter
from cdktf_cdktf_provider_aws.memorydb_subnet_group import MemorydbSubnetGroup
from cdktf_cdktf_provider_aws.memorydb_user import MemorydbUser, MemorydbUserAuthenticationMode
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from constructs import Construct

from stacks.limits import memorydb_parameter_group_family
from stacks.names import ResourceNames
from stacks.security_groups import security_group
from stacks.settings import SessionStoreSettings


# Explicit, though it is MemoryDB's default: a full store refuses writes (OOM errors, counted by
# the store-errors and store-memory alarms) instead of evicting. Eviction would silently sign
# users out, and could evict a user's slot key (usess:*) apart from that user's sessions
# (sess:*), so revoking every session of a user would miss some. volatile-lru is no better:
# every key has a TTL. (MemoryDB guide, "Engine parameters": maxmemory-policy, default noeviction.)
ENGINE_PARAMETERS = {"maxmemory-policy": "noeviction"}

# MemoryDB node types with SSD data tiering (CreateCluster: DataTiering must be true for them only).
DATA_TIERING_NODE_PREFIX = "db.r6gd."


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
        family = memorydb_parameter_group_family(s.engine, s.engine_version)
        # The name carries the family and the new group is created first: an engine family change
        # (valkey7 -> redis7, redis6 -> redis7) makes a new group, moves the cluster to it in place, and
        # only then deletes the old one. With one fixed name, Terraform would have to delete the group
        # the cluster still uses (AWS refuses: InvalidParameterGroupState).
        parameters = MemorydbParameterGroup(
            self, "parameter-group", name=names.store_parameter_group(family), family=family,
            description="Session store engine parameters (engine defaults unless tuned here)",
            parameter=[MemorydbParameterGroupParameter(name=k, value=v) for k, v in ENGINE_PARAMETERS.items()],
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True))
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
            # r6gd nodes exist only with data tiering, and data tiering only on r6gd (CreateCluster):
            # derived from the node type, so even a `memorydb_node_type` set at plan time gets it right.
            data_tiering=Token.as_any(Fn.startswith(props.node_type, DATA_TIERING_NODE_PREFIX)),
            final_snapshot_name=self._final_snapshot_name(names, props) if s.final_snapshot else None,
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

    def _final_snapshot_name(self, names: ResourceNames, props: SessionStoreProps) -> str:
        """`<prefix>-final-<UTC creation time of this cluster incarnation>`.

        A fixed name fails the second deletion: AWS refuses a final snapshot whose name exists
        (the first one is kept on purpose). The time comes from a `terraform_data` created with the
        cluster: `timestamp()` is read once (ignore_changes keeps it, so no perpetual diff), and
        the record is replaced exactly when the cluster is, because `triggers_replace` holds the
        cluster arguments hashicorp/aws 5.100 marks ForceNew. Changing the name on a live cluster
        would be harmless anyway: the provider stores `final_snapshot_name` in state only (its
        update skips it), so it is an in-place change that calls no API and replaces nothing.
        """
        s = props.settings
        incarnation = DataResource(
            self, "incarnation", input={"created": Fn.timestamp()},
            triggers_replace={"name": props.cluster_name, "kms_key_arn": props.kms_key_arn, "port": s.port,
                              "tls_enabled": True, "subnets": names.store_subnet_group,
                              "data_tiering": Fn.startswith(props.node_type, DATA_TIERING_NODE_PREFIX),
                              "auto_minor_version_upgrade": s.auto_minor_version_upgrade},
            lifecycle=TerraformResourceLifecycle(ignore_changes=["input"]))
        created = Fn.formatdate("YYYYMMDDhhmmss", incarnation.get_string_attribute("output.created"))
        return f"{names.store_final_snapshot}-{created}"

    def _user(self, names: ResourceNames, s: SessionStoreSettings) -> MemorydbUser:
        """IAM authentication: the task role's `memorydb:Connect` is the only credential."""
        return MemorydbUser(self, "user", user_name=names.store_user, access_string=s.access_string,
                            authentication_mode=MemorydbUserAuthenticationMode(type="iam"))
