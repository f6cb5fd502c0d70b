"""EC2: descriptions on security group rules that reference another group or a prefix list.

moto 5.2.5 reads a rule's Description only from its CIDR range, so a rule with
`referenced_security_group_id` (UserIdGroupPairs) or `prefix_list_id` (PrefixListIds, e.g.
the S3 gateway endpoint's list) loses its description in DescribeSecurityGroupRules and
every plan wants to set it again. AWS keeps the description on every kind of rule
(AuthorizeSecurityGroupEgress: "Description" on IpRanges, UserIdGroupPairs and PrefixListIds).
"""

from moto.ec2.models.security_groups import SecurityGroupRule

_original_init = SecurityGroupRule.__init__


def _init(self: SecurityGroupRule, *args, **kwargs) -> None:
    _original_init(self, *args, **kwargs)
    # moto keeps only the list's ID; keep its Description too.
    prefix_list = kwargs.get("prefix_list_id") if "prefix_list_id" in kwargs else (args[7] if len(args) > 7 else None)
    self._prefix_list_description = (prefix_list or {}).get("Description")


def _description(self: SecurityGroupRule) -> str | None:
    return (self.ip_range.get("Description") or self.source_group.get("Description")
            or getattr(self, "_prefix_list_description", None) or None)


def apply() -> None:
    SecurityGroupRule.__init__ = _init  # type: ignore[method-assign]
    SecurityGroupRule.description = property(_description)  # type: ignore[assignment,method-assign]
