"""EC2: descriptions on security group rules that reference another group.

moto 5.2.5 reads a rule's Description only from its CIDR range, so a rule with
`referenced_security_group_id` (UserIdGroupPairs) loses its description in
DescribeSecurityGroupRules and every plan wants to set it again.
"""

from moto.ec2.models.security_groups import SecurityGroupRule


def _description(self: SecurityGroupRule) -> str | None:
    return self.ip_range.get("Description") or self.source_group.get("Description") or None


def apply() -> None:
    SecurityGroupRule.description = property(_description)  # type: ignore[assignment,method-assign]
