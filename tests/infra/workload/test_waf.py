"""Waf: managed rules, a rate limit per client IP, count-only mode, logs with the cookie redacted."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from cdktf import Testing

from stacks.names import ResourceNames
from stacks.settings import WafSettings
from stacks.waf import COMMON_BODY_RULES, MANAGED_RULE_GROUPS, rules
from tests.infra.workload.conftest import as_text, only, resources

NAMES = ResourceNames.for_environment("session-app", "prod")


def by_name(rule_list: list[dict]) -> dict[str, dict]:
    return {rule["name"]: rule for rule in rule_list}


def test_prod_has_the_web_acl_on_the_load_balancer(env_stacks):
    stack = env_stacks["prod"]
    assert Testing.to_have_resource_with_properties(as_text(stack), "aws_wafv2_web_acl", {
        "name": "session-app-prod-web-acl", "scope": "REGIONAL", "default_action": {"allow": {}},
        "visibility_config": {"cloudwatch_metrics_enabled": True, "sampled_requests_enabled": True}})
    association = only(stack, "aws_wafv2_web_acl_association")
    assert association["resource_arn"].startswith("${aws_lb.") and association["resource_arn"].endswith(".arn}")
    assert association["web_acl_arn"].startswith("${aws_wafv2_web_acl.")
    assert stack["output"]["web_acl_name"]["value"] == "session-app-prod-web-acl"


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_waf_is_a_setting_outside_production(env_stacks, env):
    assert not resources(env_stacks[env], "aws_wafv2_web_acl")
    assert "web_acl_name" not in env_stacks[env]["output"]


def test_waf_can_be_turned_on_in_dev():
    from stacks.config_loader import load_environment
    from stacks.environment_stack import EnvironmentStack

    dev = load_environment("dev")
    dev = replace(dev, waf=replace(dev.waf, enabled=True, mode="count"))
    stack = json.loads(Testing.synth(EnvironmentStack(Testing.app(), dev)))
    acl = only(stack, "aws_wafv2_web_acl")
    assert acl["name"] == "session-app-dev-web-acl"
    assert all(rule.get("override_action", rule.get("action")) == {"count": {}} for rule in acl["rule"])


def test_rules_managed_groups_and_rate_limit_in_block_mode(env_stacks):
    acl = only(env_stacks["prod"], "aws_wafv2_web_acl")
    named = by_name(acl["rule"])
    assert set(MANAGED_RULE_GROUPS) <= set(named)
    for group in MANAGED_RULE_GROUPS:
        statement = named[group]["statement"]["managed_rule_group_statement"]
        assert statement["vendor_name"] == "AWS" and statement["name"] == group
        assert named[group]["override_action"] == {"none": {}}
    rate = named["rate-limit-per-ip"]
    assert rate["statement"]["rate_based_statement"] == {"limit": 10000, "aggregate_key_type": "IP",
                                                         "evaluation_window_sec": 300}
    assert rate["action"] == {"block": {"custom_response": {"response_code": 429}}}
    priorities = [rule["priority"] for rule in acl["rule"]]
    assert sorted(priorities) == list(range(len(priorities)))
    metrics = [rule["visibility_config"]["metric_name"] for rule in acl["rule"]]
    assert len(set(metrics)) == len(metrics)


def test_count_mode_only_counts():
    listed = rules(NAMES, WafSettings(mode="count", rate_limit_per_5_minutes=500))
    named = by_name(listed)
    for group in MANAGED_RULE_GROUPS:
        assert named[group]["override_action"] == {"count": {}}
    assert named["rate-limit-per-ip"]["action"] == {"count": {}}
    assert named["rate-limit-per-ip"]["statement"]["rate_based_statement"]["limit"] == 500
    # Same rule names in both modes: switching is an in-place update.
    assert set(named) == set(by_name(rules(NAMES, WafSettings())))


@pytest.mark.parametrize("mode", ["block", "count"])
def test_common_rule_set_body_rules_only_count_because_session_bodies_are_client_json(mode):
    """An HTML fragment in a cart must not answer 403: the body rules of the common rule set count."""
    common = by_name(rules(NAMES, WafSettings(mode=mode)))["AWSManagedRulesCommonRuleSet"]
    overrides = common["statement"]["managed_rule_group_statement"]["rule_action_override"]
    assert {o["name"] for o in overrides} == set(COMMON_BODY_RULES)
    assert {"CrossSiteScripting_BODY", "SizeRestrictions_BODY", "GenericLFI_BODY"} <= set(COMMON_BODY_RULES)
    assert all(o["action_to_use"] == {"count": {}} for o in overrides)
    assert all(name.endswith("_BODY") for name in COMMON_BODY_RULES)


def test_logs_to_an_encrypted_aws_waf_logs_group_with_the_cookie_redacted(env_stacks):
    stack = env_stacks["prod"]
    groups = {g["name"]: g for g in resources(stack, "aws_cloudwatch_log_group").values()}
    group = groups["aws-waf-logs-session-app-prod"]
    assert group["kms_key_id"].startswith("${aws_kms_key.") and group["retention_in_days"] == 365
    logging = only(stack, "aws_wafv2_web_acl_logging_configuration")
    assert logging["resource_arn"].startswith("${aws_wafv2_web_acl.")
    assert logging["log_destination_configs"] == [
        next(f"${{aws_cloudwatch_log_group.{k}.arn}}" for k, g in resources(stack, "aws_cloudwatch_log_group").items()
             if g["name"] == "aws-waf-logs-session-app-prod")]
    assert {"single_header": {"name": "cookie"}} in logging["redacted_fields"]
    # Only requests a rule acted on are kept (allowed traffic is in the ALB access logs).
    assert logging["logging_filter"]["default_behavior"] == "DROP"
    kept = [c["action_condition"]["action"] for c in logging["logging_filter"]["filter"][0]["condition"]]
    assert set(kept) == {"BLOCK", "COUNT", "EXCLUDED_AS_COUNT"}


def test_log_delivery_policy_is_limited_to_this_group_and_account(env_stacks):
    stack = env_stacks["prod"]
    policy = only(stack, "aws_cloudwatch_log_resource_policy")
    assert policy["policy_name"] == "session-app-prod-waf-log-delivery"
    document = policy["policy_document"]
    assert "delivery.logs.amazonaws.com" in document and "aws:SourceAccount" in document
    assert "logs:CreateLogStream" in document and "logs:PutLogEvents" in document
    assert '"*"' not in document.replace('"Resource" = "*"', "")  # no wildcard resource
    logging = only(stack, "aws_wafv2_web_acl_logging_configuration")
    assert any(d.startswith("aws_cloudwatch_log_resource_policy.") for d in logging["depends_on"])


def test_key_policy_lets_cloudwatch_logs_encrypt_the_waf_group(env_stacks):
    """The WAF log group lives under the account's logs ARN that the key policy grants to CloudWatch Logs."""
    policy = only(env_stacks["prod"], "aws_kms_key")["policy"]
    assert "logs.us-east-1.amazonaws.com" in policy
    assert "kms:EncryptionContext:aws:logs:arn" in policy and ":logs:us-east-1:" in policy
