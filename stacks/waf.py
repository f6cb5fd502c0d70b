"""AWS WAF in front of the load balancer: managed rules, a rate limit per client IP, logs.

Rules, cheapest first (WCU: 25 + 50 + 2 + 200 + 700 = 977 of the 1,500 a web ACL includes):

1. `AWSManagedRulesAmazonIpReputationList`: addresses Amazon's threat intelligence flags.
2. `AWSManagedRulesAnonymousIpList`: Tor, anonymizing proxies, VPNs, hosting providers. Its
   rules only count unless `waf.block_anonymous_ips`: shutting out every VPN user is a product
   decision, and the counts tell how much traffic it would turn away.
3. A rate-based rule per client IP (the ALB passes WAF the client address itself):
   `waf.rate_limit_per_5_minutes`, answered with 429. Sizing in docs/configuration.md.
4. `AWSManagedRulesKnownBadInputsRuleSet`: Log4Shell, Spring4Shell and similar payloads.
5. `AWSManagedRulesCommonRuleSet` (OWASP-style). Its body rules only count: the session API's
   bodies are arbitrary client JSON (a cart may hold an HTML fragment or a path), so
   `CrossSiteScripting_BODY`, `GenericLFI_BODY`, `GenericRFI_BODY`, `EC2MetaDataSSRF_BODY` and
   `SizeRestrictions_BODY` would answer 403 to legitimate sessions. The service itself parses
   the JSON, caps it (`sessions.max_payload_bytes`, 413) and never renders or opens it.

`waf.mode = "count"` turns every rule into count only (managed groups with
`override_action { count {} }`, the rate rule with `action { count {} }`) to tune a new
rule set against real traffic; "block" lets them act. Logs go to the CloudWatch log group
`aws-waf-logs-<prefix>` (WAF requires the prefix), encrypted with the environment key;
only requests a rule blocked or counted are kept, and the Cookie header (the session id)
is redacted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.cloudwatch_log_resource_policy import CloudwatchLogResourcePolicy
from cdktf_cdktf_provider_aws.wafv2_web_acl import (
    Wafv2WebAcl,
    Wafv2WebAclDefaultAction,
    Wafv2WebAclDefaultActionAllow,
    Wafv2WebAclVisibilityConfig,
)
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import (
    Wafv2WebAclLoggingConfiguration,
    Wafv2WebAclLoggingConfigurationLoggingFilter,
    Wafv2WebAclLoggingConfigurationLoggingFilterFilter,
    Wafv2WebAclLoggingConfigurationLoggingFilterFilterCondition,
    Wafv2WebAclLoggingConfigurationLoggingFilterFilterConditionActionCondition,
    Wafv2WebAclLoggingConfigurationRedactedFields,
    Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader,
)
from constructs import Construct

from stacks import policies
from stacks.names import ResourceNames
from stacks.settings import WafSettings

ANONYMOUS_IP_RULES = ("AnonymousIPList", "HostingProviderIPList")
# Common rule set rules that inspect the request body: counted, never blocking (docstring).
COMMON_BODY_RULES = ("CrossSiteScripting_BODY", "EC2MetaDataSSRF_BODY", "GenericLFI_BODY", "GenericRFI_BODY",
                     "SizeRestrictions_BODY")
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesAnonymousIpList",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesCommonRuleSet",
)
RATE_LIMIT_WINDOW_SECONDS = 300
RATE_LIMITED_STATUS = 429
# Headers never written to the WAF log: the session cookie, and credentials should a client send any.
REDACTED_HEADERS = ("cookie", "authorization")
# Logged requests: those a rule acted on; allowed traffic is in the ALB access logs.
LOGGED_ACTIONS = ("BLOCK", "COUNT", "EXCLUDED_AS_COUNT")


@dataclass(frozen=True)
class WafProps:
    names: ResourceNames
    settings: WafSettings
    load_balancer_arn: str
    kms_key_arn: str
    region: str
    account_id: str
    partition: str


class Waf(Construct):
    """Exposes `web_acl_arn`, `web_acl_name` and `log_group_name`."""

    def __init__(self, scope: Construct, id: str, props: WafProps):
        super().__init__(scope, id)
        names, s = props.names, props.settings
        acl = Wafv2WebAcl(
            self, "web-acl", name=names.web_acl, scope="REGIONAL",
            description=f"{names.prefix}: managed rules and a rate limit per client IP ({s.mode})",
            default_action=Wafv2WebAclDefaultAction(allow=Wafv2WebAclDefaultActionAllow()),
            visibility_config=_visibility(names.web_acl))
        # Rules as plain data (the typed classes nest eight levels deep); same JSON either way.
        acl.add_override("rule", rules(names, s))
        Wafv2WebAclAssociation(self, "association", resource_arn=props.load_balancer_arn, web_acl_arn=acl.arn)
        log_group = CloudwatchLogGroup(self, "logs", name=names.waf_log_group, kms_key_id=props.kms_key_arn,
                                       retention_in_days=s.log_retention_days)
        delivery = self._log_delivery_policy(props, log_group.arn)
        Wafv2WebAclLoggingConfiguration(
            self, "logging", resource_arn=acl.arn, log_destination_configs=[log_group.arn],
            redacted_fields=[Wafv2WebAclLoggingConfigurationRedactedFields(
                single_header=Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader(name=header))
                for header in REDACTED_HEADERS],
            logging_filter=Wafv2WebAclLoggingConfigurationLoggingFilter(
                default_behavior="DROP",
                filter=[Wafv2WebAclLoggingConfigurationLoggingFilterFilter(
                    behavior="KEEP", requirement="MEETS_ANY",
                    condition=[Wafv2WebAclLoggingConfigurationLoggingFilterFilterCondition(
                        action_condition=Wafv2WebAclLoggingConfigurationLoggingFilterFilterConditionActionCondition(
                            action=action)) for action in LOGGED_ACTIONS])]),
            depends_on=[delivery])
        self.web_acl_arn = acl.arn
        self.web_acl_name = names.web_acl
        self.log_group_name = log_group.name

    def _log_delivery_policy(self, props: WafProps, log_group_arn: str) -> CloudwatchLogResourcePolicy:
        """WAF writes through CloudWatch Logs' log delivery service, which needs this resource
        policy on the group (WAF would otherwise try to add a broader one itself). The group's
        KMS key already lets CloudWatch Logs encrypt for this account's log groups."""
        source = f"arn:{props.partition}:logs:{props.region}:{props.account_id}:*"
        return CloudwatchLogResourcePolicy(self, "log-delivery", policy_name=props.names.waf_log_policy,
                                           policy_document=policies.document(policies.statement(
                                               ["logs:CreateLogStream", "logs:PutLogEvents"], f"{log_group_arn}:*",
                                               sid="WafLogDelivery",
                                               principal={"Service": "delivery.logs.amazonaws.com"},
                                               condition={"StringEquals": {"aws:SourceAccount": props.account_id},
                                                          "ArnLike": {"aws:SourceArn": source}})))


def rules(names: ResourceNames, s: WafSettings) -> list[dict[str, Any]]:
    """The web ACL's rules as Terraform JSON blocks, in priority order."""
    count_only = s.mode == "count"
    group_override = {"count": {}} if count_only else {"none": {}}
    rate_action = {"count": {}} if count_only else {"block": {"custom_response": {"response_code": RATE_LIMITED_STATUS}}}

    def managed(priority: int, group: str, overrides: tuple[str, ...] = ()) -> dict[str, Any]:
        statement: dict[str, Any] = {"name": group, "vendor_name": "AWS"}
        if overrides:
            statement["rule_action_override"] = [{"name": rule, "action_to_use": {"count": {}}} for rule in overrides]
        return {"name": group, "priority": priority, "override_action": group_override,
                "statement": {"managed_rule_group_statement": statement},
                "visibility_config": _visibility_block(f"{names.web_acl}-{group}")}

    anonymous_overrides = () if s.block_anonymous_ips else ANONYMOUS_IP_RULES
    return [
        managed(0, "AWSManagedRulesAmazonIpReputationList"),
        managed(1, "AWSManagedRulesAnonymousIpList", anonymous_overrides),
        {"name": "rate-limit-per-ip", "priority": 2, "action": rate_action,
         "statement": {"rate_based_statement": {"limit": s.rate_limit_per_5_minutes, "aggregate_key_type": "IP",
                                                "evaluation_window_sec": RATE_LIMIT_WINDOW_SECONDS}},
         "visibility_config": _visibility_block(f"{names.web_acl}-rate-limit-per-ip")},
        managed(3, "AWSManagedRulesKnownBadInputsRuleSet"),
        managed(4, "AWSManagedRulesCommonRuleSet", COMMON_BODY_RULES),
    ]


def _visibility(metric: str) -> Wafv2WebAclVisibilityConfig:
    return Wafv2WebAclVisibilityConfig(cloudwatch_metrics_enabled=True, metric_name=metric,
                                       sampled_requests_enabled=True)


def _visibility_block(metric: str) -> dict[str, Any]:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}
