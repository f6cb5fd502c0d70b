"""The AWS provider every stack uses: one region, tags on everything it creates."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct


def aws_provider(scope: Construct, region: str, environment: str, project: str,
                 alias: str | None = None) -> AwsProvider:
    """The stack's provider; with `alias`, one more for another region."""
    return AwsProvider(
        scope,
        f"aws-{alias}" if alias else "aws",
        region=region,
        alias=alias,
        default_tags=[AwsProviderDefaultTags(tags={
            "Project": project,
            "Environment": environment,
            "ManagedBy": "cdktf",
        })],
    )
