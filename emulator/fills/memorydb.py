"""MemoryDB: ACLs, parameter groups, and the cluster's engine/version.

moto 5.2.5 has clusters, users, subnet groups and snapshots, but no ACL or
parameter-group actions (the provider gets HTTP 500 and retries), and its
clusters drop `Engine` and rewrite any EngineVersion other than 6.2/7.0 to 7.1,
so `engine = "valkey"` / `engine_version = "7.2"` would plan a replacement.
"""

import json
import threading
from typing import Any

from moto.core.responses import ActionResult
from moto.memorydb.exceptions import (
    ClusterNotFoundFault,
    InvalidParameterValueException,
    MemoryDBClientError,
    UserNotFoundFault,
)
from moto.memorydb.models import MemoryDBBackend, MemoryDBCluster
from moto.memorydb.responses import MemoryDBResponse

from emulator.fills._patch import add_method, wrap_method


class ACLAlreadyExistsFault(MemoryDBClientError):
    def __init__(self, msg: str):
        super().__init__("ACLAlreadyExistsFault", msg)


class ACLNotFoundFault(MemoryDBClientError):
    def __init__(self, msg: str):
        super().__init__("ACLNotFoundFault", msg)


class InvalidACLStateFault(MemoryDBClientError):
    def __init__(self, msg: str):
        super().__init__("InvalidACLStateFault", msg)


class ParameterGroupAlreadyExistsFault(MemoryDBClientError):
    def __init__(self, msg: str):
        super().__init__("ParameterGroupAlreadyExistsFault", msg)


class ParameterGroupNotFoundFault(MemoryDBClientError):
    def __init__(self, msg: str):
        super().__init__("ParameterGroupNotFoundFault", msg)


class InvalidParameterGroupStateFault(MemoryDBClientError):
    def __init__(self, msg: str):
        super().__init__("InvalidParameterGroupStateFault", msg)


# Engine families AWS offers, with the default group name AWS pre-creates for each
# (the provider reads "default.<family with - for _>" to tell user values from defaults).
FAMILIES: dict[str, str] = {
    "memorydb_redis6": "default.memorydb-redis6",
    "memorydb_redis7": "default.memorydb-redis7",
    "memorydb_valkey7": "default.memorydb-valkey7",
}

# A representative subset of the engine parameters and their AWS defaults.
# Names outside it are still accepted (stored as strings) so the emulator never
# blocks a valid configuration just because this table is incomplete.
DEFAULT_PARAMETERS: dict[str, tuple[str, str, str]] = {
    # name: (default value, data type, allowed values)
    "acllog-max-len": ("128", "integer", "1-10000"),
    "activedefrag": ("no", "string", "yes,no"),
    "active-defrag-cycle-max": ("75", "integer", "1-75"),
    "active-defrag-cycle-min": ("5", "integer", "1-75"),
    "active-defrag-ignore-bytes": ("104857600", "integer", "1048576-"),
    "active-defrag-threshold-lower": ("10", "integer", "1-100"),
    "active-defrag-threshold-upper": ("100", "integer", "1-100"),
    "active-expire-effort": ("1", "integer", "1-10"),
    "close-on-replica-write": ("yes", "string", "yes,no"),
    "cluster-allow-pubsubshard-when-down": ("yes", "string", "yes,no"),
    "cluster-allow-reads-when-down": ("no", "string", "yes,no"),
    "hash-max-listpack-entries": ("128", "integer", "0-"),
    "hash-max-listpack-value": ("64", "integer", "0-"),
    "lazyfree-lazy-eviction": ("no", "string", "yes,no"),
    "lazyfree-lazy-expire": ("no", "string", "yes,no"),
    "lazyfree-lazy-server-del": ("no", "string", "yes,no"),
    "lazyfree-lazy-user-del": ("no", "string", "yes,no"),
    "lazyfree-lazy-user-flush": ("no", "string", "yes,no"),
    "lfu-decay-time": ("1", "integer", "0-"),
    "lfu-log-factor": ("10", "integer", "1-"),
    "list-compress-depth": ("0", "integer", "0-"),
    "maxclients": ("65000", "integer", "1-65000"),
    "maxmemory-policy": (
        "noeviction",
        "string",
        "volatile-lru,allkeys-lru,volatile-lfu,allkeys-lfu,volatile-random,allkeys-random,volatile-ttl,noeviction",
    ),
    "maxmemory-samples": ("3", "integer", "1-"),
    "notify-keyspace-events": ("", "string", ""),
    "set-max-intset-entries": ("512", "integer", "0-"),
    "slowlog-log-slower-than": ("10000", "integer", "0-"),
    "slowlog-max-len": ("128", "integer", "0-"),
    "stream-node-max-bytes": ("4096", "integer", "0-"),
    "stream-node-max-entries": ("100", "integer", "0-"),
    "tcp-keepalive": ("300", "integer", "0-"),
    "timeout": ("0", "integer", "0,20-"),
    "tracking-table-max-keys": ("1000000", "integer", "1-100000000"),
    "zset-max-listpack-entries": ("128", "integer", "0-"),
    "zset-max-listpack-value": ("64", "integer", "0-"),
}

# Patch versions AWS reports per engine/major-minor version.
ENGINE_PATCH_VERSIONS: dict[tuple[str, str], str] = {
    ("redis", "6.2"): "6.2.6",
    ("redis", "7.0"): "7.0.7",
    ("redis", "7.1"): "7.1.2",
    ("valkey", "7.2"): "7.2.6",
    ("valkey", "7.3"): "7.3.0",
}
DEFAULT_ENGINE_VERSION: dict[str, str] = {"redis": "7.1", "valkey": "7.2"}


class ACL:
    """A MemoryDB access control list: a set of users, referenced by clusters."""

    def __init__(self, region: str, account_id: str, name: str, user_names: list[str]):
        self.name = name
        self.user_names = list(user_names)
        self.clusters: list[str] = []
        self.status = "active"
        self.arn = f"arn:aws:memorydb:{region}:{account_id}:acl/{name}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "Status": self.status,
            "UserNames": self.user_names,
            "MinimumEngineVersion": "6.2",
            "PendingChanges": {},
            "Clusters": self.clusters,
            "ARN": self.arn,
        }


class ParameterGroup:
    """A named set of engine parameter values for one family."""

    def __init__(self, region: str, account_id: str, name: str, family: str, description: str):
        self.name = name
        self.family = family
        self.description = description
        self.arn = f"arn:aws:memorydb:{region}:{account_id}:parametergroup/{name}"
        self.values: dict[str, str] = {k: v[0] for k, v in DEFAULT_PARAMETERS.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"Name": self.name, "Family": self.family, "Description": self.description, "ARN": self.arn}

    def parameters(self) -> list[dict[str, Any]]:
        out = []
        for name, value in sorted(self.values.items()):
            _, data_type, allowed = DEFAULT_PARAMETERS.get(name, ("", "string", ""))
            out.append(
                {
                    "Name": name,
                    "Value": value,
                    "Description": name,
                    "DataType": data_type,
                    "AllowedValues": allowed,
                    "MinimumEngineVersion": "6.2",
                }
            )
        return out


# ---------------------------------------------------------------- backend state
# The server is threaded: create the per-backend state once, under a lock.
_STATE_LOCK = threading.Lock()


def _acls(backend: MemoryDBBackend) -> dict[str, ACL]:
    """ACLs per backend, created lazily with AWS's built-in "open-access" ACL."""
    with _STATE_LOCK:
        if not hasattr(backend, "emulator_acls"):
            open_access = ACL(backend.region_name, backend.account_id, "open-access", ["default"])
            backend.emulator_acls = {"open-access": open_access}  # type: ignore[attr-defined]
            backend.users["default"].acl_names = ["open-access"]
    return backend.emulator_acls  # type: ignore[attr-defined,no-any-return]


def _groups(backend: MemoryDBBackend) -> dict[str, ParameterGroup]:
    """Parameter groups per backend, with AWS's read-only default group per family."""
    with _STATE_LOCK:
        if not hasattr(backend, "emulator_parameter_groups"):
            groups = {}
            for family, name in FAMILIES.items():
                groups[name] = ParameterGroup(
                    backend.region_name, backend.account_id, name, family, f"Default parameter group for {family}"
                )
            backend.emulator_parameter_groups = groups  # type: ignore[attr-defined]
    return backend.emulator_parameter_groups  # type: ignore[attr-defined,no-any-return]


def _get_acl(backend: MemoryDBBackend, name: str) -> ACL:
    acl = _acls(backend).get(name)
    if acl is None:
        raise ACLNotFoundFault(f"ACL {name} not found.")
    return acl


def _get_group(backend: MemoryDBBackend, name: str) -> ParameterGroup:
    group = _groups(backend).get(name)
    if group is None:
        raise ParameterGroupNotFoundFault(f"Parameter group {name} not found.")
    return group


def _check_users(backend: MemoryDBBackend, user_names: list[str]) -> None:
    for user in user_names:
        if user not in backend.users:
            raise UserNotFoundFault(f"User {user} not found.")


def _set_user_acls(backend: MemoryDBBackend) -> None:
    """Keep each user's ACLNames in step with ACL membership (DescribeUsers shows it)."""
    for user_name, user in backend.users.items():
        user.acl_names = sorted(a.name for a in _acls(backend).values() if user_name in a.user_names)


# ---------------------------------------------------------------- backend: ACL
def create_acl(self: MemoryDBBackend, acl_name: str, user_names: list[str] | None, tags: list[dict[str, str]] | None) -> ACL:
    if acl_name in _acls(self):
        raise ACLAlreadyExistsFault(f"ACL {acl_name} already exists.")
    _check_users(self, user_names or [])
    acl = ACL(self.region_name, self.account_id, acl_name, user_names or [])
    _acls(self)[acl_name] = acl
    _set_user_acls(self)
    if tags:
        self.tagger.tag_resource(acl.arn, tags)
    return acl


def describe_acls(self: MemoryDBBackend, acl_name: str | None) -> list[ACL]:
    if acl_name:
        return [_get_acl(self, acl_name)]
    return list(_acls(self).values())


def update_acl(self: MemoryDBBackend, acl_name: str, to_add: list[str] | None, to_remove: list[str] | None) -> ACL:
    acl = _get_acl(self, acl_name)
    if acl_name == "open-access":
        raise InvalidParameterValueException("open-access is reserved and cannot be modified.")
    _check_users(self, to_add or [])
    for user in to_add or []:
        if user not in acl.user_names:
            acl.user_names.append(user)
    acl.user_names = [u for u in acl.user_names if u not in (to_remove or [])]
    _set_user_acls(self)
    return acl


def delete_acl(self: MemoryDBBackend, acl_name: str) -> ACL:
    acl = _get_acl(self, acl_name)
    if acl_name == "open-access":
        raise InvalidParameterValueException("open-access is reserved and cannot be deleted.")
    if acl.clusters:
        raise InvalidACLStateFault(f"ACL {acl_name} is in use by cluster(s) {', '.join(acl.clusters)}.")
    del _acls(self)[acl_name]
    _set_user_acls(self)
    acl.status = "deleting"
    return acl


# ---------------------------------------------------------------- backend: parameter groups
def create_parameter_group(
    self: MemoryDBBackend, name: str, family: str, description: str | None, tags: list[dict[str, str]] | None
) -> ParameterGroup:
    if name in _groups(self):
        raise ParameterGroupAlreadyExistsFault(f"Parameter group {name} already exists.")
    if family not in FAMILIES:
        raise InvalidParameterValueException(f"Unknown parameter group family {family}.")
    group = ParameterGroup(self.region_name, self.account_id, name, family, description or "")
    _groups(self)[name] = group
    if tags:
        self.tagger.tag_resource(group.arn, tags)
    return group


def describe_parameter_groups(self: MemoryDBBackend, name: str | None) -> list[ParameterGroup]:
    if name:
        return [_get_group(self, name)]
    return list(_groups(self).values())


def _check_modifiable(name: str) -> None:
    if name.startswith("default."):
        raise InvalidParameterGroupStateFault(f"{name} is a default parameter group and cannot be modified.")


def update_parameter_group(self: MemoryDBBackend, name: str, name_values: list[dict[str, str]]) -> ParameterGroup:
    group = _get_group(self, name)
    _check_modifiable(name)
    for item in name_values:
        param, value = item["ParameterName"], item["ParameterValue"]
        _, data_type, allowed = DEFAULT_PARAMETERS.get(param, ("", "string", ""))
        # Enumerated string parameters only (integer ranges are not checked): a typo must fail as on AWS.
        if data_type == "string" and allowed and value not in allowed.split(","):
            raise InvalidParameterValueException(f"Invalid value {value} for parameter {param}.")
        group.values[param] = value
    return group


def reset_parameter_group(self: MemoryDBBackend, name: str, all_parameters: bool, names: list[str] | None) -> ParameterGroup:
    group = _get_group(self, name)
    _check_modifiable(name)
    targets = list(group.values) if all_parameters else (names or [])
    for param in targets:
        if param in DEFAULT_PARAMETERS:
            group.values[param] = DEFAULT_PARAMETERS[param][0]
        else:
            group.values.pop(param, None)
    return group


def delete_parameter_group(self: MemoryDBBackend, name: str) -> ParameterGroup:
    group = _get_group(self, name)
    _check_modifiable(name)
    users = [c.cluster_name for c in self.clusters.values() if c.parameter_group_name == name]
    if users:
        raise InvalidParameterGroupStateFault(f"Parameter group {name} is in use by cluster(s) {', '.join(users)}.")
    return _groups(self).pop(name)


# ---------------------------------------------------------------- backend: clusters and tags
def _list_arns_wrapper(original: Any, self: MemoryDBBackend) -> list[str]:
    # Tag actions accept only ARNs the backend knows; include ACLs and parameter groups.
    acl_arns = [a.arn for a in _acls(self).values()]
    group_arns = [g.arn for g in _groups(self).values()]
    return list(original(self)) + acl_arns + group_arns


def _create_cluster_wrapper(original: Any, self: MemoryDBBackend, **kwargs: Any) -> MemoryDBCluster:
    engine = (kwargs.pop("engine", None) or "redis").lower()
    version = kwargs.get("engine_version") or DEFAULT_ENGINE_VERSION.get(engine, "7.1")
    acl_name = kwargs.get("acl_name")
    tls = kwargs.get("tls_enabled")
    # Validate references before creating anything, as AWS does.
    if acl_name and tls is not False:
        acl = _get_acl(self, acl_name)
    else:
        acl = _acls(self)["open-access"]
    group_name = kwargs.get("parameter_group_name") or f"default.memorydb-{engine}{version.split('.')[0]}"
    _get_group(self, group_name)
    kwargs["parameter_group_name"] = group_name
    cluster = original(self, **kwargs)
    cluster.engine = engine
    cluster.engine_version = version
    cluster.engine_patch_version = ENGINE_PATCH_VERSIONS.get((engine, version), f"{version}.0")
    acl.clusters.append(cluster.cluster_name)
    return cluster


def _update_cluster_wrapper(original: Any, self: MemoryDBBackend, **kwargs: Any) -> MemoryDBCluster:
    engine = kwargs.pop("engine", None)
    new_acl = kwargs.get("acl_name")
    if new_acl:
        _get_acl(self, new_acl)
    if kwargs.get("parameter_group_name"):
        _get_group(self, kwargs["parameter_group_name"])
    cluster = self.clusters.get(kwargs["cluster_name"])
    if cluster is None:
        raise ClusterNotFoundFault("Cluster not found.")
    old_acl = cluster.acl_name
    cluster = original(self, **kwargs)
    if engine:
        cluster.engine = engine.lower()
    if kwargs.get("engine_version"):
        key = (getattr(cluster, "engine", "redis"), cluster.engine_version)
        cluster.engine_patch_version = ENGINE_PATCH_VERSIONS.get(key, f"{cluster.engine_version}.0")
    if new_acl and new_acl != old_acl:
        _detach_cluster(self, cluster.cluster_name)
        _acls(self)[new_acl].clusters.append(cluster.cluster_name)
    return cluster


def _detach_cluster(backend: MemoryDBBackend, cluster_name: str) -> None:
    for acl in _acls(backend).values():
        if cluster_name in acl.clusters:
            acl.clusters.remove(cluster_name)


def _delete_cluster_wrapper(original: Any, self: MemoryDBBackend, cluster_name: str, final_snapshot_name: str | None) -> MemoryDBCluster:
    cluster = original(self, cluster_name=cluster_name, final_snapshot_name=final_snapshot_name)
    _detach_cluster(self, cluster_name)
    return cluster


def _cluster_to_dict_wrapper(original: Any, self: MemoryDBCluster) -> dict[str, Any]:
    data: dict[str, Any] = original(self)
    data["Engine"] = getattr(self, "engine", "redis")
    # AWS reports ACTIVE/INACTIVE; the provider ignores sns_topic_arn unless it is "ACTIVE".
    if data.get("SnsTopicStatus"):
        data["SnsTopicStatus"] = str(data["SnsTopicStatus"]).upper()
    return data


def _delete_user_wrapper(original: Any, self: MemoryDBBackend, user_name: str) -> Any:
    # AWS: "The user will be removed from all ACLs and in turn removed from all clusters."
    user = original(self, user_name=user_name)
    for acl in _acls(self).values():
        if user_name in acl.user_names:
            acl.user_names.remove(user_name)
    return user


# ---------------------------------------------------------------- responses
def _params(self: MemoryDBResponse) -> dict[str, Any]:
    return json.loads(self.body or "{}")  # type: ignore[no-any-return]


def r_create_acl(self: MemoryDBResponse) -> ActionResult:
    p = _params(self)
    acl = create_acl(self.memorydb_backend, p["ACLName"], p.get("UserNames"), p.get("Tags"))
    return ActionResult({"ACL": acl.to_dict()})


def r_describe_acls(self: MemoryDBResponse) -> ActionResult:
    acls = describe_acls(self.memorydb_backend, _params(self).get("ACLName"))
    return ActionResult({"ACLs": [a.to_dict() for a in acls]})


def r_update_acl(self: MemoryDBResponse) -> ActionResult:
    p = _params(self)
    acl = update_acl(self.memorydb_backend, p["ACLName"], p.get("UserNamesToAdd"), p.get("UserNamesToRemove"))
    return ActionResult({"ACL": acl.to_dict()})


def r_delete_acl(self: MemoryDBResponse) -> ActionResult:
    acl = delete_acl(self.memorydb_backend, _params(self)["ACLName"])
    return ActionResult({"ACL": acl.to_dict()})


def r_create_parameter_group(self: MemoryDBResponse) -> ActionResult:
    p = _params(self)
    group = create_parameter_group(
        self.memorydb_backend, p["ParameterGroupName"], p["Family"], p.get("Description"), p.get("Tags")
    )
    return ActionResult({"ParameterGroup": group.to_dict()})


def r_describe_parameter_groups(self: MemoryDBResponse) -> ActionResult:
    groups = describe_parameter_groups(self.memorydb_backend, _params(self).get("ParameterGroupName"))
    return ActionResult({"ParameterGroups": [g.to_dict() for g in groups]})


def r_describe_parameters(self: MemoryDBResponse) -> ActionResult:
    group = _get_group(self.memorydb_backend, _params(self)["ParameterGroupName"])
    return ActionResult({"Parameters": group.parameters()})


def r_update_parameter_group(self: MemoryDBResponse) -> ActionResult:
    p = _params(self)
    group = update_parameter_group(self.memorydb_backend, p["ParameterGroupName"], p.get("ParameterNameValues") or [])
    return ActionResult({"ParameterGroup": group.to_dict()})


def r_reset_parameter_group(self: MemoryDBResponse) -> ActionResult:
    p = _params(self)
    group = reset_parameter_group(
        self.memorydb_backend, p["ParameterGroupName"], bool(p.get("AllParameters")), p.get("ParameterNames")
    )
    return ActionResult({"ParameterGroup": group.to_dict()})


def r_delete_parameter_group(self: MemoryDBResponse) -> ActionResult:
    group = delete_parameter_group(self.memorydb_backend, _params(self)["ParameterGroupName"])
    return ActionResult({"ParameterGroup": group.to_dict()})


# CreateCluster/UpdateCluster request keys -> moto backend keyword names.
_CREATE_KEYS = {
    "ClusterName": "cluster_name", "NodeType": "node_type", "ParameterGroupName": "parameter_group_name",
    "Description": "description", "NumShards": "num_shards", "NumReplicasPerShard": "num_replicas_per_shard",
    "SubnetGroupName": "subnet_group_name", "SecurityGroupIds": "security_group_ids",
    "MaintenanceWindow": "maintenance_window", "Port": "port", "SnsTopicArn": "sns_topic_arn",
    "TLSEnabled": "tls_enabled", "KmsKeyId": "kms_key_id", "SnapshotArns": "snapshot_arns",
    "SnapshotName": "snapshot_name", "SnapshotRetentionLimit": "snapshot_retention_limit", "Tags": "tags",
    "SnapshotWindow": "snapshot_window", "ACLName": "acl_name", "EngineVersion": "engine_version",
    "AutoMinorVersionUpgrade": "auto_minor_version_upgrade", "DataTiering": "data_tiering",
    "Engine": "engine",
}
_UPDATE_KEYS = {
    "ClusterName": "cluster_name", "Description": "description", "SecurityGroupIds": "security_group_ids",
    "MaintenanceWindow": "maintenance_window", "SnsTopicArn": "sns_topic_arn",
    "SnsTopicStatus": "sns_topic_status", "ParameterGroupName": "parameter_group_name",
    "SnapshotWindow": "snapshot_window", "SnapshotRetentionLimit": "snapshot_retention_limit",
    "NodeType": "node_type", "EngineVersion": "engine_version",
    "ReplicaConfiguration": "replica_configuration", "ShardConfiguration": "shard_configuration",
    "ACLName": "acl_name", "Engine": "engine",
}


def r_create_cluster(self: MemoryDBResponse) -> ActionResult:
    # Replaces moto's handler, which drops `Engine`.
    p = _params(self)
    kwargs = {snake: p.get(key) for key, snake in _CREATE_KEYS.items()}
    cluster = self.memorydb_backend.create_cluster(**kwargs)
    return ActionResult({"Cluster": cluster.to_dict()})


def r_update_cluster(self: MemoryDBResponse) -> ActionResult:
    p = _params(self)
    kwargs = {snake: p.get(key) for key, snake in _UPDATE_KEYS.items()}
    cluster = self.memorydb_backend.update_cluster(**kwargs)
    return ActionResult({"Cluster": cluster.to_dict()})


def apply() -> None:
    for name, func in [
        ("create_acl", create_acl),
        ("describe_acls", describe_acls),
        ("update_acl", update_acl),
        ("delete_acl", delete_acl),
        ("create_parameter_group", create_parameter_group),
        ("describe_parameter_groups", describe_parameter_groups),
        ("update_parameter_group", update_parameter_group),
        ("reset_parameter_group", reset_parameter_group),
        ("delete_parameter_group", delete_parameter_group),
    ]:
        add_method(MemoryDBBackend, name, func)
    wrap_method(MemoryDBBackend, "_list_arns", _list_arns_wrapper)
    wrap_method(MemoryDBBackend, "create_cluster", _create_cluster_wrapper)
    wrap_method(MemoryDBBackend, "update_cluster", _update_cluster_wrapper)
    wrap_method(MemoryDBBackend, "delete_cluster", _delete_cluster_wrapper)
    wrap_method(MemoryDBBackend, "delete_user", _delete_user_wrapper)
    wrap_method(MemoryDBCluster, "to_dict", _cluster_to_dict_wrapper)
    for name, func in [
        ("create_acl", r_create_acl),
        # moto maps DescribeACLs to this snake_case name.
        ("describe_ac_ls", r_describe_acls),
        ("update_acl", r_update_acl),
        ("delete_acl", r_delete_acl),
        ("create_parameter_group", r_create_parameter_group),
        ("describe_parameter_groups", r_describe_parameter_groups),
        ("describe_parameters", r_describe_parameters),
        ("update_parameter_group", r_update_parameter_group),
        ("reset_parameter_group", r_reset_parameter_group),
        ("delete_parameter_group", r_delete_parameter_group),
    ]:
        add_method(MemoryDBResponse, name, func)
    add_method(MemoryDBResponse, "create_cluster", r_create_cluster)
    add_method(MemoryDBResponse, "update_cluster", r_update_cluster)
