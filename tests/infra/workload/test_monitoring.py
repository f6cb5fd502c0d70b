"""Monitoring: an encrypted alarm topic, alarms on what users feel, one dashboard."""

from __future__ import annotations

import json

import pytest
from cdktf import Testing
from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic

from tests.infra.conftest import ENVIRONMENTS
from tests.infra.workload.conftest import as_text, only, resources

ALARMS = ("alb-5xx-rate", "target-response-time", "unhealthy-targets", "service-cpu", "service-memory",
          "store-cpu", "store-memory", "store-connections")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alarm_topic_is_encrypted(env_stacks, env):
    assert Testing.to_have_resource_with_properties(as_text(env_stacks[env]), SnsTopic.TF_RESOURCE_TYPE, {
        "name": f"session-app-{env}-alarms"})
    topic = next(t for t in resources(env_stacks[env], "aws_sns_topic").values() if t["name"].endswith("-alarms"))
    assert topic["kms_master_key_id"].startswith("${aws_kms_key.")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alarms_page_the_topic(env_stacks, env):
    alarms = {a["alarm_name"]: a for a in resources(env_stacks[env], "aws_cloudwatch_metric_alarm").values()}
    assert set(alarms) == {f"session-app-{env}-{name}" for name in ALARMS}
    for alarm in alarms.values():
        assert alarm["alarm_actions"] == alarm["ok_actions"]
        (action,) = alarm["alarm_actions"]
        assert action.startswith("${aws_sns_topic.")


def test_store_alarms_aggregate_the_cluster_nodes(env_stacks):
    alarms = {a["alarm_name"]: a for a in resources(env_stacks["prod"], "aws_cloudwatch_metric_alarm").values()}
    query = alarms["session-app-prod-store-memory"]["metric_query"][0]
    assert 'SCHEMA("AWS/MemoryDB", ClusterName, NodeName)' in query["expression"]
    assert "aws_memorydb_cluster." in query["expression"] and query["period"] == 60
    assert alarms["session-app-prod-store-memory"]["threshold"] == 80
    rate = alarms["session-app-prod-alb-5xx-rate"]
    assert {q["id"] for q in rate["metric_query"]} == {"rate", "elb", "target", "requests"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_dashboard_shows_balancer_service_store_and_sessions(env_stacks, env):
    stack = env_stacks[env]
    assert Testing.to_have_resource_with_properties(as_text(stack), CloudwatchDashboard.TF_RESOURCE_TYPE, {
        "dashboard_name": f"session-app-{env}"})
    body = json.loads(only(stack, CloudwatchDashboard.TF_RESOURCE_TYPE)["dashboard_body"])
    text = json.dumps(body)
    for namespace in ("AWS/ApplicationELB", "AWS/ECS", "AWS/MemoryDB", "SessionApp"):
        assert namespace in text
    for metric in ("SessionsCreated", "SessionReads", "StoreErrors", "StoreLatency"):
        assert metric in text
    assert {w["x"] for w in body["widgets"]} == {0, 8, 16}  # three columns side by side
    assert f'"Environment", "{env}"' in text
