"""ACM: DNS validation that really depends on DNS.

AWS issues a certificate requested with DNS validation once it finds, for every name, the
CNAME record ACM asked for (DescribeCertificate's `DomainValidationOptions[].ResourceRecord`)
in public DNS, and keeps it `PENDING_VALIDATION` until then (72 hours, then
`VALIDATION_TIMED_OUT`): https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html.
moto 5.2.5 instead issues every requested certificate 60 seconds after the request, whether
or not any record exists, so a stack that wrote its validation records into the wrong zone
(or none) would still "validate".

Here a requested certificate (no private CA) is issued as soon as each of its validation
CNAMEs exists, with ACM's value, in a Route 53 hosted zone of the same account whose name
contains the record (the emulator's DNS), and stays pending otherwise. Imported and
private-CA certificates keep moto's behaviour.
"""

from typing import Any

from moto.acm.models import CertBundle
from moto.route53.models import route53_backends

from emulator.fills._patch import wrap_method


def _normal(name: str) -> str:
    return name.rstrip(".").lower()


def _published(account_id: str, name: str, value: str) -> bool:
    """Whether a hosted zone of the account that holds `name` has it as a CNAME to `value`."""
    backend = route53_backends[account_id]["aws"]
    name, value = _normal(name), _normal(value)
    for zone in backend.zones.values():
        zone_name = _normal(zone.name)
        if name != zone_name and not name.endswith("." + zone_name):
            continue
        for record in zone.rrsets:
            if record.type == "CNAME" and _normal(record.name) == name and \
                    any(_normal(v) == value for v in record.records):
                return True
    return False


def _dns_validated(bundle: CertBundle) -> bool:
    account_id = bundle.arn.split(":")[4]
    options = bundle.describe()["Certificate"].get("DomainValidationOptions", [])
    return bool(options) and all(
        _published(account_id, o["ResourceRecord"]["Name"], o["ResourceRecord"]["Value"]) for o in options)


def _check_wrapper(original: Any, self: CertBundle) -> None:
    if self.type == "AMAZON_ISSUED" and self.cert_authority_arn is None and self.status == "PENDING_VALIDATION":
        if _dns_validated(self):
            self.status = "ISSUED"
        return  # pending until the records exist, however long ago it was requested
    original(self)


def apply() -> None:
    wrap_method(CertBundle, "check", _check_wrapper)
