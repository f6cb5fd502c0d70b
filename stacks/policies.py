"""IAM policy documents as plain Python data, rendered with Terraform's `jsonencode`.

Keeping documents as dicts lets tests read every action and resource directly.
"""

from __future__ import annotations

from typing import Any, Iterable

from cdktf import Fn

Statement = dict[str, Any]


def statement(actions: Iterable[str], resources: Iterable[str] | str, *, sid: str | None = None,
              effect: str = "Allow", principal: dict[str, Any] | None = None,
              condition: dict[str, Any] | None = None) -> Statement:
    body: Statement = {"Effect": effect, "Action": sorted(actions)}
    body["Resource"] = resources if isinstance(resources, str) else list(resources)
    if sid:
        body = {"Sid": sid, **body}
    if principal is not None:
        body["Principal"] = principal
    if condition is not None:
        body["Condition"] = condition
    return body


def document(*statements: Statement) -> str:
    return Fn.jsonencode({"Version": "2012-10-17", "Statement": list(statements)})


def service_trust(service: str, account_id: str) -> str:
    """Let an AWS service assume a role, only on behalf of this account (confused deputy)."""
    return document(
        {
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        }
    )


def deny_insecure_transport(bucket_arn: str) -> Statement:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
