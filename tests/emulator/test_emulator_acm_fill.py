"""ACM DNS validation depends on the record in Route 53 (fills/acm.py), as on AWS."""

from __future__ import annotations

import uuid


def request(aws, domain: str) -> tuple[str, dict]:
    acm = aws("acm")
    arn = acm.request_certificate(DomainName=domain, ValidationMethod="DNS")["CertificateArn"]
    (option,) = acm.describe_certificate(CertificateArn=arn)["Certificate"]["DomainValidationOptions"]
    return arn, option["ResourceRecord"]


def status(aws, arn: str) -> str:
    return aws("acm").describe_certificate(CertificateArn=arn)["Certificate"]["Status"]


def zone(aws, name: str) -> str:
    return aws("route53").create_hosted_zone(Name=name, CallerReference=str(uuid.uuid4()))["HostedZone"]["Id"]


def cname(aws, zone_id: str, name: str, value: str) -> None:
    aws("route53").change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {"Name": name, "Type": "CNAME", "TTL": 300,
                                                  "ResourceRecords": [{"Value": value}]}}]})


def test_pending_until_the_validation_record_exists_then_issued(aws):
    zone_id = zone(aws, "fill-a.internal")
    arn, record = request(aws, "www.fill-a.internal")
    assert status(aws, arn) == "PENDING_VALIDATION"
    cname(aws, zone_id, record["Name"], record["Value"])
    assert status(aws, arn) == "ISSUED"
    (option,) = aws("acm").describe_certificate(CertificateArn=arn)["Certificate"]["DomainValidationOptions"]
    assert option["ValidationStatus"] == "SUCCESS"


def test_a_record_with_another_value_does_not_validate(aws):
    own = zone(aws, "fill-b.internal")
    arn, record = request(aws, "api.fill-b.internal")
    cname(aws, own, record["Name"], "_wrong.acm-validations.aws.")
    assert status(aws, arn) == "PENDING_VALIDATION"
    cname(aws, own, record["Name"], record["Value"])
    assert status(aws, arn) == "ISSUED"


def test_imported_certificates_stay_issued(aws):
    from emulator_tf import self_signed_cert

    cert, key = self_signed_cert("imported.fill.internal")
    arn = aws("acm").import_certificate(Certificate=cert.encode(), PrivateKey=key.encode())["CertificateArn"]
    assert status(aws, arn) == "ISSUED"
