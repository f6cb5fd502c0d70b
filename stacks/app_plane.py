"""The application plane's network exposure (docs/security.md, "Application plane"): the
service's second port, open only from the security groups the settings name. No listener
or target group of the load balancer points at it, and no CIDR block may reach it."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct


def app_plane_ingress(scope: Construct, *, service_group_id: str, port: int, source_groups: tuple[str, ...]) -> None:
    """One ingress rule per caller group, named by the group id (reordering the list replaces
    nothing). The callers' egress rules belong to their own stacks."""
    for group in source_groups:
        VpcSecurityGroupIngressRule(scope, f"app-plane-from-{group}", security_group_id=service_group_id,
                                    referenced_security_group_id=group, ip_protocol="tcp", from_port=port,
                                    to_port=port, description="Trusted backends to the application plane")
