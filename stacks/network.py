"""The VPC: public subnets (load balancer, NAT), private subnets (tasks, session store).

Defaults are the original design's: 10.0.0.0/16, public 10.0.1.0/24 and 10.0.2.0/24,
private 10.0.3.0/24 and 10.0.4.0/24 over two AZs. One NAT gateway (cheap) or one per AZ
(survives an AZ outage). The S3 gateway endpoint (free) keeps S3 traffic (ECR image layers)
off the NAT gateways. VPC flow logs go to an encrypted log group, or as vended logs to an
encrypted S3 bucket (cheaper per GB) by setting, and the default security group is stripped
of every rule so nothing can use it by accident.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
from constructs import Construct

from stacks import policies
from stacks.secure_bucket import SecureBucket, SecureBucketProps
from stacks.settings import NetworkSettings


@dataclass(frozen=True)
class NetworkProps:
    name_prefix: str
    settings: NetworkSettings
    flow_logs_role_name: str
    account_id: str
    kms_key_arn: str
    region: str = "us-east-1"
    partition: str = "aws"
    flow_logs_bucket_name: str = ""  # with flow_logs_destination = "s3"


def s3_endpoint_policy(props: NetworkProps) -> str:
    """The S3 gateway endpoint (AWS's default policy allows every bucket of every account):
    ECR image layers, which live in AWS's bucket prod-<region>-starport-layer-bucket (ECR user
    guide, "Minimum Amazon S3 bucket permissions for Amazon ECR"), and this environment's own
    buckets (`<prefix>-*` of this account). Only principals of this account either way."""
    this_account = {"StringEquals": {"aws:PrincipalAccount": props.account_id}}
    return policies.document(
        policies.statement(["s3:GetObject"], f"arn:{props.partition}:s3:::prod-{props.region}-starport-layer-bucket/*",
                           sid="EcrImageLayers", principal={"AWS": "*"}, condition=this_account),
        policies.statement(["s3:*"], [f"arn:{props.partition}:s3:::{props.name_prefix}-*",
                                      f"arn:{props.partition}:s3:::{props.name_prefix}-*/*"],
                           sid="ThisEnvironmentsBuckets", principal={"AWS": "*"},
                           condition={"StringEquals": {"aws:PrincipalAccount": props.account_id,
                                                       "aws:ResourceAccount": props.account_id}}))


class Network(Construct):
    """Exposes `vpc_id`, `vpc_cidr`, `public_subnet_ids`, `private_subnet_ids` and
    `s3_prefix_list_id` (the S3 gateway endpoint's prefix list, for egress rules)."""

    def __init__(self, scope: Construct, id: str, props: NetworkProps):
        super().__init__(scope, id)
        s = props.settings
        self._prefix = props.name_prefix
        vpc = Vpc(self, "vpc", cidr_block=s.vpc_cidr, enable_dns_hostnames=True, enable_dns_support=True,
                  tags=self._name("vpc"))
        self.vpc_id = vpc.id
        self.vpc_cidr = s.vpc_cidr
        DefaultSecurityGroup(self, "default-security-group", vpc_id=vpc.id, ingress=[], egress=[],
                             tags=self._name("default-unused"))
        gateway = InternetGateway(self, "internet-gateway", vpc_id=vpc.id, tags=self._name("igw"))

        public = [self._subnet(vpc.id, "public", i, az, cidr)
                  for i, (az, cidr) in enumerate(zip(s.availability_zones, s.public_subnet_cidrs))]
        private = [self._subnet(vpc.id, "private", i, az, cidr)
                   for i, (az, cidr) in enumerate(zip(s.availability_zones, s.private_subnet_cidrs))]
        self.public_subnet_ids = [subnet.id for subnet in public]
        self.private_subnet_ids = [subnet.id for subnet in private]

        public_routes = RouteTable(self, "public-routes", vpc_id=vpc.id, tags=self._name("public"))
        Route(self, "public-default-route", route_table_id=public_routes.id,
              destination_cidr_block="0.0.0.0/0", gateway_id=gateway.id)
        for i, subnet in enumerate(public):
            RouteTableAssociation(self, f"public-{i}-routes", subnet_id=subnet.id, route_table_id=public_routes.id)

        nat_count = {"per_az": len(public), "single": 1, "none": 0}[s.nat_gateways]
        nats = [self._nat_gateway(i, public[i].id, gateway) for i in range(nat_count)]
        private_tables = []
        for i, subnet in enumerate(private):
            table = RouteTable(self, f"private-{i}-routes", vpc_id=vpc.id, tags=self._name(f"private-{i}"))
            if nats:  # "none": no route out at all; AWS APIs through the interface endpoints only
                Route(self, f"private-{i}-default-route", route_table_id=table.id,
                      destination_cidr_block="0.0.0.0/0", nat_gateway_id=nats[min(i, nat_count - 1)].id)
            RouteTableAssociation(self, f"private-{i}-association", subnet_id=subnet.id, route_table_id=table.id)
            private_tables.append(table)
        # Gateway endpoints cost nothing and take S3 traffic (ECR layers) off the NAT ($0.045/GB).
        s3 = VpcEndpoint(self, "s3-endpoint", vpc_id=vpc.id, service_name=f"com.amazonaws.{props.region}.s3",
                         vpc_endpoint_type="Gateway", route_table_ids=[t.id for t in private_tables],
                         policy=s3_endpoint_policy(props), tags=self._name("s3"))
        self.s3_prefix_list_id = s3.prefix_list_id

        self._flow_logs(vpc.id, props)

    def _name(self, suffix: str) -> dict[str, str]:
        return {"Name": f"{self._prefix}-{suffix}"}

    def _subnet(self, vpc_id: str, tier: str, index: int, az: str, cidr: str) -> Subnet:
        return Subnet(self, f"{tier}-{index}", vpc_id=vpc_id, availability_zone=az, cidr_block=cidr,
                      map_public_ip_on_launch=False,  # nothing here needs a public IP; the ALB and NAT have their own
                      tags={**self._name(f"{tier}-{az}"), "Tier": tier})

    def _nat_gateway(self, index: int, subnet_id: str, gateway: InternetGateway) -> NatGateway:
        address = Eip(self, f"nat-{index}-address", domain="vpc", tags=self._name(f"nat-{index}"),
                      depends_on=[gateway])
        return NatGateway(self, f"nat-{index}", allocation_id=address.id, subnet_id=subnet_id,
                          tags=self._name(f"nat-{index}"), depends_on=[gateway])

    def _flow_logs(self, vpc_id: str, props: NetworkProps) -> None:
        if props.settings.flow_logs_destination == "s3":
            self._flow_logs_to_s3(vpc_id, props)
            return
        group = CloudwatchLogGroup(self, "flow-logs", name=f"/vpc/{props.name_prefix}/flow-logs",
                                   retention_in_days=props.settings.flow_log_retention_days,
                                   kms_key_id=props.kms_key_arn)
        role = IamRole(self, "flow-logs-role", name=props.flow_logs_role_name,
                       assume_role_policy=policies.service_trust("vpc-flow-logs.amazonaws.com", props.account_id))
        IamRolePolicy(self, "flow-logs-policy", role=role.id, name="write-flow-logs",
                      policy=policies.document(
                          policies.statement(["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                                             [group.arn, f"{group.arn}:*"]),
                          # AWS lists it as required for the flow-log role (VPC user guide, "IAM role for
                          # publishing flow logs to CloudWatch Logs"); it takes no resource narrower than *.
                          policies.statement(["logs:DescribeLogGroups"], "*")))
        FlowLog(self, "flow-log", vpc_id=vpc_id, traffic_type="ALL", log_destination_type="cloud-watch-logs",
                log_destination=group.arn, iam_role_arn=role.arn, max_aggregation_interval=60)

    def _flow_logs_to_s3(self, vpc_id: str, props: NetworkProps) -> None:
        """Vended logs: no IAM role; the bucket policy and the key policy admit the log delivery
        service for this account only. Objects expire after the retention setting."""
        account, name = props.account_id, props.flow_logs_bucket_name
        bucket_arn = f"arn:{props.partition}:s3:::{name}"
        source = {"StringEquals": {"aws:SourceAccount": account},
                  "ArnLike": {"aws:SourceArn": f"arn:{props.partition}:logs:{props.region}:{account}:*"}}
        delivery = {"Service": "delivery.logs.amazonaws.com"}
        bucket = SecureBucket(self, "flow-logs-bucket", SecureBucketProps(
            bucket_name=name, kms_key_arn=props.kms_key_arn,
            expire_current_after_days=props.settings.flow_log_retention_days, noncurrent_version_days=1,
            extra_policy_statements=(
                policies.statement(["s3:GetBucketAcl", "s3:ListBucket"], bucket_arn, sid="AWSLogDeliveryAclCheck",
                                   principal=delivery, condition=source),
                policies.statement(["s3:PutObject"], f"{bucket_arn}/AWSLogs/{account}/*", sid="AWSLogDeliveryWrite",
                                   principal=delivery, condition={
                                       **source, "StringEquals": {"aws:SourceAccount": account,
                                                                  "s3:x-amz-acl": "bucket-owner-full-control"}}),
            )))
        FlowLog(self, "flow-log", vpc_id=vpc_id, traffic_type="ALL", log_destination_type="s3",
                log_destination=bucket.bucket_arn, max_aggregation_interval=600, depends_on=[bucket.policy])
