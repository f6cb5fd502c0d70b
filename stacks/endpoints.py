"""Private egress: interface VPC endpoints for the AWS APIs the tasks call.

ECS pulls the image (ECR api + dkr; the layers come from S3 through the network's gateway
endpoint), injects the Parameter Store secrets (SSM) and ships the logs (CloudWatch Logs).
STS gets an endpoint only when the service calls it (`service.trusted_caller_arns`: it
forwards callers' signed sts:GetCallerIdentity); MemoryDB IAM tokens are signed locally and
task credentials come from the ECS agent, so nothing else needs STS. With these endpoints
(private DNS on) none of that crosses a NAT, and the service's HTTPS egress is narrowed from
0.0.0.0/0 to the endpoints' security group and the S3 prefix list. Each endpoint costs about
$7.30 a month per AZ (docs/architecture.md).

Endpoint policies (AWS's default allows everything): the API endpoints serve only principals
of this account acting on this account's resources (aws:PrincipalAccount, aws:ResourceAccount;
IfExists because some actions, such as ecr:GetAuthorizationToken, name no resource). The STS
endpoint allows only sts:GetCallerIdentity, for any principal: a forwarded caller signs its
own request and may belong to another account.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from constructs import Construct

from stacks import policies
from stacks.names import ResourceNames
from stacks.security_groups import link, security_group

# Endpoint name -> service name suffix (com.amazonaws.<region>.<suffix>).
INTERFACE_SERVICES = {"ecr-api": "ecr.api", "ecr-dkr": "ecr.dkr", "logs": "logs", "ssm": "ssm"}
STS_SERVICE = {"sts": "sts"}
HTTPS = 443


def account_only_policy(account_id: str) -> str:
    """Principals of this account, on resources of this account (or on no resource)."""
    return policies.document(policies.statement(
        ["*"], "*", sid="ThisAccountOnly", principal={"AWS": "*"},
        condition={"StringEquals": {"aws:PrincipalAccount": account_id},
                   "StringEqualsIfExists": {"aws:ResourceAccount": account_id}}))


def caller_identity_policy() -> str:
    return policies.document(policies.statement(["sts:GetCallerIdentity"], "*", sid="CallerIdentityOnly",
                                                principal={"AWS": "*"}))


@dataclass(frozen=True)
class EndpointsProps:
    names: ResourceNames
    region: str
    vpc_id: str
    subnet_ids: list[str]
    # The security group whose HTTPS traffic the endpoints serve (the session service).
    client_security_group_id: str
    # The S3 gateway endpoint's prefix list (Network.s3_prefix_list_id).
    s3_prefix_list_id: str
    account_id: str
    # The service calls STS (service.trusted_caller_arns): add the STS endpoint.
    sts: bool = False


class Endpoints(Construct):
    """Exposes `security_group_id` and `endpoint_ids` (endpoint name -> id)."""

    def __init__(self, scope: Construct, id: str, props: EndpointsProps):
        super().__init__(scope, id)
        group = security_group(self, "security-group", props.names.endpoints_security_group, props.vpc_id,
                               "VPC interface endpoints: HTTPS from the session service only")
        services = {**INTERFACE_SERVICES, **(STS_SERVICE if props.sts else {})}
        account_only = account_only_policy(props.account_id)
        self.endpoint_ids = {
            name: VpcEndpoint(self, name, vpc_id=props.vpc_id, service_name=f"com.amazonaws.{props.region}.{suffix}",
                              vpc_endpoint_type="Interface", private_dns_enabled=True,
                              subnet_ids=props.subnet_ids, security_group_ids=[group.id],
                              policy=caller_identity_policy() if name in STS_SERVICE else account_only,
                              tags={"Name": f"{props.names.prefix}-{name}"}).id
            for name, suffix in services.items()}
        link(self, "service-to-endpoints", source_group_id=props.client_security_group_id,
             target_group_id=group.id, port=HTTPS, description="Session service to AWS APIs (VPC endpoints)")
        VpcSecurityGroupEgressRule(self, "s3-egress", security_group_id=props.client_security_group_id,
                                   ip_protocol="tcp", from_port=HTTPS, to_port=HTTPS,
                                   prefix_list_id=props.s3_prefix_list_id,
                                   description="Image layers from S3 (gateway endpoint)")
        self.security_group_id = group.id
