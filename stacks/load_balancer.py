"""The internet-facing Application Load Balancer in front of the session service.

With a certificate (`certificate_arn`, or one created for `domain_name` by
`stacks.certificate`): HTTPS on 443 (TLS 1.3 policy) and port 80 only redirects. Without one:
HTTP on 80 only, and 443 stays closed, so no port is open that nothing listens on. With
`domain_name`, an alias record in the hosted zone points the name at the ALB. No
stickiness: sessions live in MemoryDB, so any task can serve any request.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformIterator, Token
from cdktf_cdktf_provider_aws.data_aws_elb_service_account import DataAwsElbServiceAccount
from cdktf_cdktf_provider_aws.lb import Lb, LbAccessLogs
from cdktf_cdktf_provider_aws.lb_listener import (
    LbListener,
    LbListenerDefaultAction,
    LbListenerDefaultActionRedirect,
)
from cdktf_cdktf_provider_aws.lb_target_group import LbTargetGroup, LbTargetGroupHealthCheck, LbTargetGroupStickiness
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from stacks.certificate import DnsCertificateProps, DnsValidatedCertificate, alias_record
from stacks.names import ResourceNames
from stacks.secure_bucket import SecureBucket, SecureBucketProps
from stacks.security_groups import security_group
from stacks.settings import LoadBalancerSettings

# AWS's current recommendation: TLS 1.3, and TLS 1.2 with forward-secret ciphers only.
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
ACCESS_LOG_PREFIX = "alb"
ACCESS_LOG_DAYS = 90


@dataclass(frozen=True)
class LoadBalancerProps:
    names: ResourceNames
    settings: LoadBalancerSettings
    account_id: str
    partition: str
    vpc_id: str
    subnet_ids: list[str]
    ingress_cidrs: list[str]  # Terraform variable token (allowed_ingress_cidrs)
    target_port: int
    health_check_path: str  # the container's (`[service] health_check_path`)


class LoadBalancer(Construct):
    """Exposes `security_group_id`, `target_group_arn`, `listeners` (for `depends_on`), `arn`,
    `dns_name`, `https`, `url`, and the CloudWatch dimensions `arn_suffix` and `target_group_arn_suffix`."""

    def __init__(self, scope: Construct, id: str, props: LoadBalancerProps):
        super().__init__(scope, id)
        s, names = props.settings, props.names
        self._props = props
        group = security_group(self, "security-group", names.load_balancer_security_group, props.vpc_id,
                               "Session service load balancer: listener ports from the allowed CIDRs")
        certificate_arn = self._certificate()
        https = certificate_arn is not None
        for port in (80, 443) if https else (80,):
            self._open(group.id, port)
        access_logs, log_bucket_policy = self._access_logs()
        balancer = Lb(self, "alb", name=names.load_balancer, internal=False, load_balancer_type="application",
                      security_groups=[group.id], subnets=props.subnet_ids, drop_invalid_header_fields=True,
                      enable_deletion_protection=s.deletion_protection, idle_timeout=s.idle_timeout_seconds,
                      desync_mitigation_mode="strictest", access_logs=access_logs,
                      depends_on=log_bucket_policy)
        target_group = LbTargetGroup(
            self, "target-group", name=names.target_group, port=props.target_port, protocol="HTTP",
            target_type="ip", vpc_id=props.vpc_id, deregistration_delay=str(s.deregistration_delay_seconds),
            health_check=LbTargetGroupHealthCheck(
                enabled=True, path=props.health_check_path, port="traffic-port", protocol="HTTP", matcher="200",
                interval=s.health_check_interval_seconds, timeout=s.health_check_timeout_seconds,
                healthy_threshold=s.healthy_threshold, unhealthy_threshold=s.unhealthy_threshold),
            stickiness=LbTargetGroupStickiness(type="lb_cookie", enabled=False))
        forward = LbListenerDefaultAction(type="forward", target_group_arn=target_group.arn)
        if https:
            redirect = LbListenerDefaultAction(type="redirect", redirect=LbListenerDefaultActionRedirect(
                protocol="HTTPS", port="443", status_code="HTTP_301"))
            self.listeners = [
                LbListener(self, "https", load_balancer_arn=balancer.arn, port=443, protocol="HTTPS",
                           ssl_policy=TLS_POLICY, certificate_arn=certificate_arn, default_action=[forward]),
                # Same id as without a certificate: adding one updates the port-80 listener in
                # place (a second listener on port 80 would be a DuplicateListener; docs/change-matrix.md).
                LbListener(self, "http", load_balancer_arn=balancer.arn, port=80, protocol="HTTP",
                           default_action=[redirect]),
            ]
        else:
            self.listeners = [LbListener(self, "http", load_balancer_arn=balancer.arn, port=80, protocol="HTTP",
                                         default_action=[forward])]
        if s.domain_name is not None and s.hosted_zone_id is not None:
            alias_record(self, "alias", domain_name=s.domain_name, hosted_zone_id=s.hosted_zone_id,
                         target_dns_name=balancer.dns_name, target_zone_id=balancer.zone_id)
        self.security_group_id = group.id
        self.target_group_arn = target_group.arn
        self.arn = balancer.arn
        self.dns_name = balancer.dns_name
        self.https = https
        self.url = f"{'https' if https else 'http'}://{s.domain_name or balancer.dns_name}"
        self.arn_suffix = balancer.arn_suffix
        self.target_group_arn_suffix = target_group.arn_suffix

    def _certificate(self) -> str | None:
        """The listener's certificate: the configured ARN, or a DNS-validated one for domain_name."""
        s = self._props.settings
        if s.certificate_arn is not None or s.domain_name is None or s.hosted_zone_id is None:
            return s.certificate_arn
        return DnsValidatedCertificate(self, "certificate", DnsCertificateProps(
            domain_name=s.domain_name, hosted_zone_id=s.hosted_zone_id)).certificate_arn

    def _open(self, group_id: str, port: int) -> None:
        """One ingress rule per allowed CIDR block, on a listener port."""
        cidrs = TerraformIterator.from_list(self._props.ingress_cidrs)  # for_each over toset(...)
        VpcSecurityGroupIngressRule(self, f"ingress-{port}", for_each=cidrs, security_group_id=group_id,
                                    cidr_ipv4=Token.as_string(cidrs.value), ip_protocol="tcp", from_port=port, to_port=port,
                                    description=f"Clients to the listener on port {port}")

    def _access_logs(self) -> tuple[LbAccessLogs | None, list]:
        """Access logs to an SSE-S3 bucket (the only encryption ALB log delivery supports);
        the load balancer must wait for the bucket policy, or AWS rejects the setting."""
        p = self._props
        if not p.settings.access_logs:
            return None, []
        bucket_name = p.names.access_logs_bucket(p.account_id)
        writer = DataAwsElbServiceAccount(self, "elb-account").arn
        bucket = SecureBucket(self, "access-logs", SecureBucketProps(
            bucket_name=bucket_name, encryption="AES256", expire_current_after_days=ACCESS_LOG_DAYS,
            noncurrent_version_days=1,
            extra_policy_statements=({
                "Sid": "LoadBalancerLogDelivery",
                "Effect": "Allow",
                "Principal": {"AWS": writer},
                "Action": "s3:PutObject",
                "Resource": f"arn:{p.partition}:s3:::{bucket_name}/{ACCESS_LOG_PREFIX}/AWSLogs/{p.account_id}/*",
            },)))
        return LbAccessLogs(bucket=bucket.bucket_name, prefix=ACCESS_LOG_PREFIX, enabled=True), [bucket.policy]
