"""S3: bucket policies that deny non-TLS access.

moto 5.2.5 enforces bucket policies but ignores their `Condition` blocks, so the standard
statement "Deny s3:* when aws:SecureTransport is false" denies *every* request, and the
Terraform state bucket becomes unusable. The emulator stands in for AWS's HTTPS endpoints,
so every request counts as secure transport: statements that only match insecure
requests are left out when moto evaluates the policy.
"""

import json
from typing import Any

from moto.s3.models import FakeBucket

from emulator.fills._patch import wrap_method


def _matches_only_insecure_transport(statement: dict[str, Any]) -> bool:
    for operator, values in (statement.get("Condition") or {}).items():
        if operator.lower().startswith("bool"):
            for key, value in values.items():
                wanted = value if isinstance(value, list) else [value]
                if key.lower() == "aws:securetransport" and [str(v).lower() for v in wanted] == ["false"]:
                    return True
    return False


def _get_permission(original: Any, self: FakeBucket, action: str, resource: str) -> Any:
    if self.policy is None:
        return original(self, action, resource)
    policy = json.loads(self.policy)
    statements = policy.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    kept = [s for s in statements if not _matches_only_insecure_transport(s)]
    if len(kept) == len(statements):
        return original(self, action, resource)
    stored = self.policy
    try:
        self.policy = json.dumps({**policy, "Statement": kept}).encode()
        return original(self, action, resource)
    finally:
        self.policy = stored


def apply() -> None:
    wrap_method(FakeBucket, "get_permission", _get_permission)
