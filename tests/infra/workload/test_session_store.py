"""SessionStore: MemoryDB with TLS, KMS, IAM authentication and no password anywhere."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest
from cdktf import Testing
from cdktf_cdktf_provider_aws.memorydb_acl import MemorydbAcl
from cdktf_cdktf_provider_aws.memorydb_cluster import MemorydbCluster
from cdktf_cdktf_provider_aws.memorydb_parameter_group import MemorydbParameterGroup
from cdktf_cdktf_provider_aws.memorydb_user import MemorydbUser

from tests.infra.conftest import ENVIRONMENTS
from tests.infra.workload.conftest import as_text, only, resources


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cluster_is_tls_kms_encrypted_valkey_behind_its_acl(env_stacks, env):
    stack = env_stacks[env]
    assert Testing.to_have_resource_with_properties(as_text(stack), MemorydbCluster.TF_RESOURCE_TYPE, {
        "tls_enabled": True, "engine": "valkey", "engine_version": "7.2", "port": 6379,
        "name": "${var.cluster_name}", "node_type": "${var.memorydb_node_type}",
        "num_shards": "${var.memorydb_num_shards}", "num_replicas_per_shard": "${var.memorydb_replicas_per_shard}"})
    cluster = only(stack, MemorydbCluster.TF_RESOURCE_TYPE)
    # With final snapshots (prod) the store's key is session-bootstrap's retained key (below).
    assert cluster["kms_key_arn"].startswith("${data.aws_kms_key." if env == "prod" else "${aws_kms_key.")
    assert cluster["acl_name"].startswith("${aws_memorydb_acl.")
    assert cluster["sns_topic_arn"].startswith("${aws_sns_topic.")
    assert cluster["snapshot_retention_limit"] >= 1
    assert cluster["snapshot_window"] and cluster["maintenance_window"]
    assert Testing.to_have_resource_with_properties(as_text(stack), MemorydbParameterGroup.TF_RESOURCE_TYPE, {
        "family": "memorydb_valkey7"})


@pytest.mark.parametrize(("env", "final"), [("dev", False), ("staging", False), ("prod", True)])
def test_final_snapshot_only_in_prod(env_stacks, env, final):
    cluster = only(env_stacks[env], MemorydbCluster.TF_RESOURCE_TYPE)
    if not final:
        assert "final_snapshot_name" not in cluster and "terraform_data" not in env_stacks[env].get("resource", {})
        return
    (incarnation,) = resources(env_stacks[env], "terraform_data")
    assert cluster["final_snapshot_name"] == (
        f'session-app-prod-final-${{formatdate("YYYYMMDDhhmmss", terraform_data.{incarnation}.output.created)}}')


def _incarnation_config(stack: dict) -> dict:
    """The prod stack's incarnation record and final snapshot name, alone: plain terraform applies
    them without any provider (terraform_data is built in). The triggers' references to other
    resources become variables."""
    data = resources(stack, "terraform_data")
    text = json.dumps(data)
    for reference in sorted(set(re.findall(r"\$\{((?:data\.)?aws_[a-z_]+\.[A-Za-z0-9_-]+\.[a-z_]+)\}", text))):
        text = text.replace("${" + reference + "}", "${var.kms_key_arn}")
    cluster = only(stack, MemorydbCluster.TF_RESOURCE_TYPE)
    return {"variable": {"cluster_name": {"default": "session-app-prod"}, "kms_key_arn": {"default": "arn:1"},
                         "memorydb_node_type": {"default": "db.r6g.large"}},
            "resource": {"terraform_data": json.loads(text)},
            "output": {"final_snapshot_name": {"value": cluster["final_snapshot_name"]}}}


def test_final_snapshot_name_is_fixed_per_cluster_incarnation(env_stacks, terraform_env, tmp_path):
    """Apply, plan again (no change: no perpetual diff), then change an argument that replaces the
    cluster: the name changes with it, so a second deletion never collides with the first snapshot."""
    (tmp_path / "main.tf.json").write_text(json.dumps(_incarnation_config(env_stacks["prod"])))

    def tf(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["terraform", *args, "-no-color"], cwd=tmp_path, env=terraform_env,
                              capture_output=True, text=True, timeout=300)

    def name() -> str:
        return json.loads(tf("output", "-json").stdout)["final_snapshot_name"]["value"]

    assert tf("init", "-input=false").returncode == 0
    assert tf("apply", "-input=false", "-auto-approve").returncode == 0
    first = name()
    assert re.fullmatch(r"session-app-prod-final-\d{14}", first), first
    time.sleep(1.1)  # timestamp() has whole seconds: a replacement a second later must get a new name
    again = tf("plan", "-input=false", "-detailed-exitcode")
    assert again.returncode == 0, again.stdout  # the same cluster keeps its name: no perpetual diff
    assert tf("apply", "-input=false", "-auto-approve").returncode == 0 and name() == first
    replaced = tf("apply", "-input=false", "-auto-approve", "-var", "memorydb_node_type=db.r6gd.xlarge")
    assert replaced.returncode == 0 and "must be replaced" in replaced.stdout, replaced.stdout
    assert re.fullmatch(r"session-app-prod-final-\d{14}", name()) and name() != first


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_data_tiering_follows_the_node_type(env_stacks, env):
    """r6gd nodes require data tiering and only they allow it: derived, so a plan-time node type works."""
    cluster = only(env_stacks[env], MemorydbCluster.TF_RESOURCE_TYPE)
    assert cluster["data_tiering"] == '${startswith(var.memorydb_node_type, "db.r6gd.")}'


def test_parameter_group_name_carries_the_engine_family():
    """A family change creates a differently named group first, then moves the cluster to it."""
    from stacks.limits import memorydb_parameter_group_family
    from stacks.names import ResourceNames

    names = ResourceNames.for_environment("session-app", "prod")
    families = {memorydb_parameter_group_family(engine, version)
                for engine, version in (("valkey", "7.2"), ("redis", "6.2"), ("redis", "7.1"))}
    assert {names.store_parameter_group(f) for f in families} == {
        "session-app-prod-valkey7", "session-app-prod-redis6", "session-app-prod-redis7"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_parameter_group_is_created_before_the_old_one_is_destroyed(env_stacks, env):
    group = only(env_stacks[env], MemorydbParameterGroup.TF_RESOURCE_TYPE)
    assert group["name"] == f"session-app-{env}-valkey7"
    assert group["lifecycle"]["create_before_destroy"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_one_iam_user_alone_in_the_acl_limited_to_session_keys(env_stacks, env):
    stack = env_stacks[env]
    user = only(stack, MemorydbUser.TF_RESOURCE_TYPE)
    assert user["authentication_mode"] == {"type": "iam"}  # no passwords block at all
    assert user["user_name"] == f"session-app-{env}-app"
    assert user["access_string"].split()[:3] == ["on", "~sess:*", "~usess:*"]
    assert "-@dangerous" in user["access_string"]
    assert Testing.to_have_resource_with_properties(as_text(stack), MemorydbAcl.TF_RESOURCE_TYPE, {
        "name": f"session-app-{env}-acl"})
    acl = only(stack, MemorydbAcl.TF_RESOURCE_TYPE)
    (member,) = acl["user_names"]
    assert member.startswith("${aws_memorydb_user.") and member.endswith(".user_name}")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_store_admits_6379_only_from_the_service(env_stacks, env):
    stack = env_stacks[env]
    groups = {f"${{aws_security_group.{key}.id}}": g["name"] for key, g in resources(stack, "aws_security_group").items()}
    rules = [r for r in resources(stack, "aws_vpc_security_group_ingress_rule").values()
             if groups.get(r["security_group_id"]) == f"session-app-{env}-store"]
    (rule,) = rules
    assert groups[rule["referenced_security_group_id"]] == f"session-app-{env}-service"
    assert (rule["from_port"], rule["to_port"], rule["ip_protocol"]) == (6379, 6379, "tcp")
    assert "cidr_ipv4" not in rule


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cluster_events_go_to_an_unencrypted_topic(env_stacks, env):
    """MemoryDB documents: do not use an encrypted SNS topic for event notifications."""
    stack = env_stacks[env]
    key, events = next((k, t) for k, t in resources(stack, "aws_sns_topic").items() if t["name"].endswith("-store-events"))
    assert "kms_master_key_id" not in events
    (cluster,) = resources(stack, "aws_memorydb_cluster").values()
    assert cluster["sns_topic_arn"] == f"${{aws_sns_topic.{key}.arn}}"


def test_an_existing_alarm_topic_receives_the_cluster_events():
    from tests.infra.workload.conftest import synth_with

    topic = "arn:aws:sns:us-east-1:123456789012:oncall"
    stack = synth_with("prod", monitoring={"alarm_topic_arn": topic, "alarm_email": None})
    (cluster,) = resources(stack, "aws_memorydb_cluster").values()
    assert cluster["sns_topic_arn"] == topic
    assert not resources(stack, "aws_sns_topic") and not resources(stack, "aws_sns_topic_subscription")


def test_subnet_group_spans_the_private_subnets(env_stacks):
    stack = env_stacks["prod"]
    (group,) = resources(stack, "aws_memorydb_subnet_group").values()
    private = {f"${{aws_subnet.{k}.id}}" for k, s in resources(stack, "aws_subnet").items() if s["tags"]["Tier"] == "private"}
    assert set(group["subnet_ids"]) == private and len(private) == 3


def test_final_snapshots_are_under_a_key_that_outlives_the_environment(synthesized):
    """destroy schedules the environment key for deletion; a final snapshot under it would be
    unrestorable within 30 days. prod's store uses the key session-bootstrap makes and keeps."""
    prod, bootstrap = synthesized["session-prod"], synthesized["session-bootstrap"]
    cluster = only(prod, MemorydbCluster.TF_RESOURCE_TYPE)
    (key_ref, lookup), = resources({"resource": prod["data"]}, "aws_kms_key").items()
    assert cluster["kms_key_arn"] == f"${{data.aws_kms_key.{key_ref}.arn}}"
    assert lookup["key_id"] == "alias/session-app-prod-store-retained"
    aliases = {a["name"]: a for a in resources(bootstrap, "aws_kms_alias").values()}
    assert set(aliases) == {"alias/session-app-prod-store-retained"}  # only environments with final snapshots
    (key_name, key), = resources(bootstrap, "aws_kms_key").items()
    assert aliases["alias/session-app-prod-store-retained"]["target_key_id"] == f"${{aws_kms_key.{key_name}.key_id}}"
    assert key["enable_key_rotation"] is True and '"kms:*"' in key["policy"] and ":root" in key["policy"]
    # The environment's own key still encrypts everything else (it may go with the environment).
    assert all(not p.get("kms_key_id", "${aws_kms_key.").startswith("${data.")
               for p in resources(prod, "aws_cloudwatch_log_group").values())


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_eviction_policy_is_explicit_noeviction(env_stacks, env):
    """A full store refuses writes instead of silently signing users out or splitting a user's
    slot from its sessions (stacks/session_store.py)."""
    group = only(env_stacks[env], MemorydbParameterGroup.TF_RESOURCE_TYPE)
    assert group["parameter"] == [{"name": "maxmemory-policy", "value": "noeviction"}]
