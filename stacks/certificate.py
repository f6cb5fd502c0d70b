"""The service's DNS name: an ACM certificate validated through Route 53, and the alias record.

Used when `load_balancer.domain_name` and `hosted_zone_id` are set. ACM issues the
certificate once the validation CNAME it asks for exists in the zone; the listener waits for
`aws_acm_certificate_validation`, so it never starts with a certificate that is not issued.
Renewal is automatic for as long as the CNAME stays (ACM managed renewal).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformIterator, TerraformResourceLifecycle, Token
from cdktf_cdktf_provider_aws.acm_certificate import AcmCertificate
from cdktf_cdktf_provider_aws.acm_certificate_validation import AcmCertificateValidation
from cdktf_cdktf_provider_aws.route53_record import Route53Record, Route53RecordAlias
from constructs import Construct

VALIDATION_RECORD_TTL = 300


@dataclass(frozen=True)
class DnsCertificateProps:
    domain_name: str
    hosted_zone_id: str


class DnsValidatedCertificate(Construct):
    """Exposes `certificate_arn`: known only after ACM has issued the certificate."""

    def __init__(self, scope: Construct, id: str, props: DnsCertificateProps):
        super().__init__(scope, id)
        # A replacement (say, a new name) must exist before the listener lets go of the old one.
        certificate = AcmCertificate(
            self, "certificate", domain_name=props.domain_name, validation_method="DNS",
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True))
        # One CNAME per name ACM validates, keyed by the name (the provider's documented pattern).
        options = TerraformIterator.from_complex_list(certificate.domain_validation_options, "domain_name")
        records = Route53Record(
            self, "validation", for_each=options, zone_id=props.hosted_zone_id,
            name=options.get_string("resource_record_name"), type=options.get_string("resource_record_type"),
            records=[options.get_string("resource_record_value")], ttl=VALIDATION_RECORD_TTL,
            allow_overwrite=True)
        validation = AcmCertificateValidation(
            self, "validated", certificate_arn=certificate.arn,
            validation_record_fqdns=Token.as_list(TerraformIterator.from_resources(records).pluck_property("fqdn")))
        self.certificate_arn = validation.certificate_arn


def alias_record(scope: Construct, id: str, *, domain_name: str, hosted_zone_id: str, target_dns_name: str,
                 target_zone_id: str) -> Route53Record:
    """`domain_name` -> the load balancer. A only: the ALB is IPv4 (the VPC has no IPv6), so an
    AAAA alias would answer nothing."""
    return Route53Record(scope, id, zone_id=hosted_zone_id, name=domain_name, type="A",
                         alias=Route53RecordAlias(name=target_dns_name, zone_id=target_zone_id,
                                                  evaluate_target_health=True))
