"""A bucket policy that denies non-TLS access must not lock everyone out of the emulator."""

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
