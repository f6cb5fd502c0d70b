"""The AWS provider every stack uses: one region, tags on everything it creates."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct


def aws_provider(scope: Construct, region: str, environment: str, project: str) -> AwsProvider:
    return AwsProvider(
        scope,
        "aws",
        region=region,
        default_tags=[AwsProviderDefaultTags(tags={
            "Project": project,
            "Environment": environment,
            "ManagedBy": "cdktf",
        })],
    )
