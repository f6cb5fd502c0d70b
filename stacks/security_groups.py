"""Security groups without inline rules, and the one way two of them are linked.

Every rule is its own `aws_vpc_security_group_*_rule` resource (inline rules and rule
resources fight each other), and a link between two groups is always the pair: ingress on
the receiver from the sender's group, egress on the sender to the receiver's group.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct


def security_group(scope: Construct, id: str, name: str, vpc_id: str, description: str) -> SecurityGroup:
    """A group with no rules yet; `revoke_rules_on_delete` so linked groups can be destroyed."""
    return SecurityGroup(scope, id, name=name, vpc_id=vpc_id, description=description,
                         revoke_rules_on_delete=True, tags={"Name": name})


def link(scope: Construct, id: str, *, source_group_id: str, target_group_id: str, port: int,
         description: str) -> None:
    """Let `source` open TCP connections to `target` on `port`, and nothing else."""
    VpcSecurityGroupIngressRule(scope, f"{id}-ingress", security_group_id=target_group_id,
                                referenced_security_group_id=source_group_id, ip_protocol="tcp",
                                from_port=port, to_port=port, description=description)
    VpcSecurityGroupEgressRule(scope, f"{id}-egress", security_group_id=source_group_id,
                               referenced_security_group_id=target_group_id, ip_protocol="tcp",
                               from_port=port, to_port=port, description=description)
