"""Fills found by the deploy cycle: TLS-only bucket policies, the default ALB scheme."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def bucket(aws):
    s3 = aws("s3")
    name = "tls-only-state"
    s3.create_bucket(Bucket=name)
    arn = f"arn:aws:s3:::{name}"
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "DenyDeletes", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
         "Resource": f"{arn}/*"},
    ]}))
    return s3, name


def test_requests_count_as_secure_transport(bucket):
    s3, name = bucket
    s3.put_object(Bucket=name, Key="state", Body=b"{}")
    assert s3.get_object(Bucket=name, Key="state")["Body"].read() == b"{}"


def test_other_deny_statements_still_apply(bucket):
    from botocore.exceptions import ClientError

    s3, name = bucket
    s3.put_object(Bucket=name, Key="state", Body=b"{}")
    with pytest.raises(ClientError) as raised:
        s3.delete_object(Bucket=name, Key="state")
    assert raised.value.response["Error"]["Code"] in ("AccessDenied", "403")


def test_load_balancer_scheme_defaults_to_internet_facing(aws):
    ec2, elb = aws("ec2"), aws("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"]["SubnetId"]
               for i, z in ((1, "a"), (2, "b"))]
    elb.create_load_balancer(Name="scheme-default", Subnets=subnets)
    (balancer,) = elb.describe_load_balancers(Names=["scheme-default"])["LoadBalancers"]
    assert balancer["Scheme"] == "internet-facing"
