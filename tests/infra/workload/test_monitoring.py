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
          "store-cpu", "store-memory", "store-connections", "store-auth-failures", "store-errors",
          "tasks-below-desired")


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


def alarms_of(stack: dict) -> dict[str, dict]:
    return {a["alarm_name"]: a for a in resources(stack, "aws_cloudwatch_metric_alarm").values()}


def test_new_alarms_watch_auth_failures_store_errors_and_missing_tasks(env_stacks):
    alarms = alarms_of(env_stacks["prod"])
    auth = alarms["session-app-prod-store-auth-failures"]
    assert "SUM(AuthenticationFailures)" in auth["metric_query"][0]["expression"] and auth["threshold"] == 0
    errors = alarms["session-app-prod-store-errors"]
    assert (errors["namespace"], errors["metric_name"], errors["dimensions"], errors["statistic"]) == (
        "SessionApp", "StoreErrors", {"Environment": "prod"}, "Sum")  # the service's EMF metric
    assert errors["threshold"] == 10
    tasks = alarms["session-app-prod-tasks-below-desired"]
    queries = {q["id"]: q for q in tasks["metric_query"]}
    assert queries["missing"]["expression"] == "FILL(desired, 0) - FILL(running, 0)"
    assert {queries[i]["metric"]["metric_name"] for i in ("desired", "running")} == {"DesiredTaskCount", "RunningTaskCount"}
    assert queries["running"]["metric"]["namespace"] == "ECS/ContainerInsights"
    assert (tasks["evaluation_periods"], tasks["datapoints_to_alarm"]) == (10, 8)


def test_prod_alarms_reach_someone(env_stacks):
    """prod's example address is subscribed to the alarm topic and to the MemoryDB events topic."""
    stack = env_stacks["prod"]
    topics = {f"${{aws_sns_topic.{k}.arn}}": t["name"] for k, t in resources(stack, "aws_sns_topic").items()}
    subscriptions = {(topics[s["topic_arn"]], s["protocol"], s["endpoint"])
                     for s in resources(stack, "aws_sns_topic_subscription").values()}
    assert subscriptions == {("session-app-prod-alarms", "email", "oncall@example.com"),
                             ("session-app-prod-store-events", "email", "oncall@example.com")}


def test_an_existing_topic_replaces_the_alarm_topic():
    from tests.infra.workload.conftest import synth_with

    topic = "arn:aws:sns:us-east-1:123456789012:oncall"
    stack = synth_with("prod", monitoring={"alarm_topic_arn": topic, "alarm_email": None})
    for alarm in alarms_of(stack).values():
        assert alarm["alarm_actions"] == [topic] == alarm["ok_actions"]


def test_without_container_insights_no_task_count_alarm():
    from tests.infra.workload.conftest import synth_with

    stack = synth_with("dev", service={"container_insights": False})
    assert "session-app-dev-tasks-below-desired" not in alarms_of(stack)
