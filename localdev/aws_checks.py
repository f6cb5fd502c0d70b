"""After a deploy, ask the AWS API what the original design promised (works on AWS and the emulator)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from stacks.contract import PARAMETERS
from stacks.settings import EnvironmentSettings

EXPECTED_PARAMETERS = tuple(PARAMETERS)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


def run_checks(settings: EnvironmentSettings, client: Callable[[str], Any]) -> list[CheckResult]:
    names = settings.names
    checks = (_memorydb, _parameters, _ecs_service, _scalable_target, _load_balancer)
    results = []
    for check in checks:
        try:
            results.append(check(settings, names, client))
        except Exception as error:  # a failed API call is a failed check, with its reason
            results.append(CheckResult(check.__name__.strip("_"), False, f"{type(error).__name__}: {error}"))
    return results


def _memorydb(settings, names, client) -> CheckResult:
    (cluster,) = client("memorydb").describe_clusters(ClusterName=names.store_cluster)["Clusters"]
    ok = cluster["Status"] == "available" and cluster["TLSEnabled"] and cluster["ACLName"] == names.store_acl
    return CheckResult("memorydb cluster", ok, f"{cluster['Name']}: status {cluster['Status']}, TLS "
                       f"{cluster['TLSEnabled']}, ACL {cluster['ACLName']}, {cluster['NumberOfShards']} shard(s)")


def _parameters(settings, names, client) -> CheckResult:
    pages = client("ssm").get_paginator("get_parameters_by_path").paginate(
        Path=settings.parameter_prefix, Recursive=True, WithDecryption=True)
    found = {p["Name"].removeprefix(settings.parameter_prefix) for page in pages for p in page["Parameters"]}
    missing = sorted(set(EXPECTED_PARAMETERS) - found)
    return CheckResult("parameters by path", not missing,
                       f"{len(found)} under {settings.parameter_prefix}" + (f"; missing {missing}" if missing else ""))


def _ecs_service(settings, names, client) -> CheckResult:
    (service,) = client("ecs").describe_services(cluster=names.ecs_cluster, services=[names.ecs_service])["services"]
    ok = service["status"] == "ACTIVE" and service["desiredCount"] == settings.service.desired_count
    return CheckResult("ecs service", ok, f"{service['serviceName']}: {service['status']}, desired count "
                       f"{service['desiredCount']} (configured {settings.service.desired_count})")


def _scalable_target(settings, names, client) -> CheckResult:
    resource_id = f"service/{names.ecs_cluster}/{names.ecs_service}"
    targets = client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[resource_id])["ScalableTargets"]
    want = (settings.service.min_capacity, settings.service.max_capacity)
    got = [(t["MinCapacity"], t["MaxCapacity"]) for t in targets]
    return CheckResult("scalable target", got == [want], f"{resource_id}: min/max {got} (configured {want})")


def _load_balancer(settings, names, client) -> CheckResult:
    elb = client("elbv2")
    (balancer,) = elb.describe_load_balancers(Names=[names.load_balancer])["LoadBalancers"]
    (group,) = elb.describe_target_groups(Names=[names.target_group])["TargetGroups"]
    lb = settings.load_balancer
    want = ("ip", settings.service.health_check_path, lb.health_check_interval_seconds, lb.health_check_timeout_seconds,
            lb.healthy_threshold, lb.unhealthy_threshold)
    got = (group["TargetType"], group["HealthCheckPath"], group["HealthCheckIntervalSeconds"],
           group["HealthCheckTimeoutSeconds"], group["HealthyThresholdCount"], group["UnhealthyThresholdCount"])
    ok = balancer["Scheme"] == "internet-facing" and got == want
    return CheckResult("load balancer", ok, f"{balancer['LoadBalancerName']} ({balancer['Scheme']}); target group "
                       f"{group['TargetGroupName']}: type {got[0]}, health check {got[1]} every {got[2]}s, "
                       f"timeout {got[3]}s, thresholds {got[4]}/{got[5]}")
