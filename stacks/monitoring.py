"""Alarms that page on what users feel, and one dashboard per environment.

Alarms go to the environment's CMK-encrypted SNS topic, or to an existing topic
(`alarm_topic_arn`); `alarm_email` subscribes an address to the alarm topic and to the
MemoryDB events topic. They watch the load balancer (5xx rate, response time, unhealthy
targets), the service (CPU, memory, running below desired, its own store errors) and
MemoryDB (engine CPU, memory, connections, authentication failures). The alarms a bad
release trips (`ROLLBACK_ALARMS`) also roll the ECS deployment back.
MemoryDB reports per node, so its alarms aggregate the cluster's nodes with a Metrics
Insights query. The dashboard puts load balancer, service and store side by side, plus
the session metrics the service writes as CloudWatch EMF (namespace `SessionApp`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import (
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
    CloudwatchMetricAlarmMetricQueryMetric,
)
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from stacks.names import ResourceNames
from stacks.settings import MonitoringSettings

APP_NAMESPACE = "SessionApp"
SERVICE_UTILIZATION_PERCENT = 85
PERIOD = 60
# What a bad release trips: tasks that cannot authenticate to MemoryDB, that fail at the store,
# or that answer 5xx. Not capacity or load alarms (Spot reclaims, traffic peaks): rolling back a
# good release would not help them. The ECS deployment `alarms {}` block names these.
ROLLBACK_ALARMS = ("store-auth-failures", "store-errors", "alb-5xx-rate")


@dataclass(frozen=True)
class MonitoringProps:
    names: ResourceNames
    settings: MonitoringSettings
    environment: str
    region: str
    kms_key_arn: str
    load_balancer_arn_suffix: str
    target_group_arn_suffix: str
    cluster_name: str
    service_name: str
    store_cluster_name: str
    # The MemoryDB events topic (unencrypted, see session_store.py): alarm_email subscribes to it too.
    events_topic_arn: Optional[str] = None
    container_insights: bool = True  # ECS/ContainerInsights metrics exist only with it


class Monitoring(Construct):
    """Exposes `topic_arn` (alarms) and `dashboard_name`."""

    def __init__(self, scope: Construct, id: str, props: MonitoringProps):
        super().__init__(scope, id)
        self._props = props
        names, s = props.names, props.settings
        # CMK-encrypted: CloudWatch may publish to it because the key policy grants
        # cloudwatch.amazonaws.com (the AWS-managed alias/aws/sns key cannot be granted to it).
        topic_arn = s.alarm_topic_arn or SnsTopic(self, "alarms", name=names.alarm_topic,
                                                  kms_master_key_id=props.kms_key_arn).arn
        if s.alarm_email:
            SnsTopicSubscription(self, "alarm-email", topic_arn=topic_arn, protocol="email", endpoint=s.alarm_email)
            if props.events_topic_arn and not s.alarm_topic_arn:
                SnsTopicSubscription(self, "store-events-email", topic_arn=props.events_topic_arn,
                                     protocol="email", endpoint=s.alarm_email)
        self._topic_arn = topic_arn
        self._alarms()
        dashboard = CloudwatchDashboard(self, "dashboard", dashboard_name=names.dashboard,
                                        # json.dumps, not jsonencode: cdktf mis-escapes quoted
                                        # strings holding references inside jsonencode.
                                        dashboard_body=json.dumps(self._dashboard()))
        self.topic_arn = topic_arn
        self.dashboard_name = dashboard.dashboard_name

    # ------------------------------------------------------------------ alarms
    def _alarms(self) -> None:
        p, s = self._props, self._props.settings
        lb = {"LoadBalancer": p.load_balancer_arn_suffix}
        tg = {**lb, "TargetGroup": p.target_group_arn_suffix}
        ecs = {"ClusterName": p.cluster_name, "ServiceName": p.service_name}
        self._alarm("alb-5xx-rate", "More than the allowed share of requests fail with 5xx",
                    s.http_5xx_rate_percent, queries=[
                        self._expression("rate", "IF(requests > 0, 100 * (FILL(elb, 0) + FILL(target, 0)) / requests, 0)"),
                        self._metric("elb", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", lb, "Sum"),
                        self._metric("target", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", lb, "Sum"),
                        self._metric("requests", "AWS/ApplicationELB", "RequestCount", lb, "Sum")])
        self._alarm("target-response-time", "p95 response time of the service is too slow",
                    s.target_response_time_seconds, namespace="AWS/ApplicationELB",
                    metric="TargetResponseTime", dimensions=tg, extended_statistic="p95")
        self._alarm("unhealthy-targets", "Tasks fail the load balancer health check", 0,
                    namespace="AWS/ApplicationELB", metric="UnHealthyHostCount", dimensions=tg, statistic="Maximum")
        self._alarm("service-cpu", "Service CPU stays high (auto scaling at its limit?)", SERVICE_UTILIZATION_PERCENT,
                    namespace="AWS/ECS", metric="CPUUtilization", dimensions=ecs, statistic="Average")
        self._alarm("service-memory", "Service memory stays high", SERVICE_UTILIZATION_PERCENT,
                    namespace="AWS/ECS", metric="MemoryUtilization", dimensions=ecs, statistic="Average")
        self._alarm("store-cpu", "A session store node's engine CPU is high", s.store_cpu_percent,
                    queries=[self._store_query("MAX", "EngineCPUUtilization")])
        self._alarm("store-memory", "A session store node is running out of memory", s.store_memory_percent,
                    queries=[self._store_query("MAX", "DatabaseMemoryUsagePercentage")])
        self._alarm("store-connections", "Too many client connections to the session store",
                    s.store_max_connections, queries=[self._store_query("SUM", "CurrConnections")])
        self._alarm("store-auth-failures", "Clients fail to authenticate to the session store (IAM token, ACL)",
                    0, queries=[self._store_query("SUM", "AuthenticationFailures")])
        self._alarm("store-errors", "The service's own store operations fail (its StoreErrors metric)",
                    s.store_errors_per_minute, namespace=APP_NAMESPACE, metric="StoreErrors",
                    dimensions={"Environment": p.environment}, statistic="Sum")
        if p.container_insights:
            insights = {"ClusterName": p.cluster_name, "ServiceName": p.service_name}
            self._alarm("tasks-below-desired", "Fewer tasks run than the service wants", 0, queries=[
                self._expression("missing", "FILL(desired, 0) - FILL(running, 0)"),
                self._metric("desired", "ECS/ContainerInsights", "DesiredTaskCount", insights, "Average"),
                self._metric("running", "ECS/ContainerInsights", "RunningTaskCount", insights, "Average")],
                # Scale-out and replacements take a few minutes: only a lasting gap counts.
                evaluation_periods=10, datapoints_to_alarm=8)

    def _alarm(self, what: str, description: str, threshold: float, *, queries: Optional[list] = None,
               namespace: Optional[str] = None, metric: Optional[str] = None,
               dimensions: Optional[dict[str, str]] = None, statistic: Optional[str] = None,
               extended_statistic: Optional[str] = None, evaluation_periods: int = 5,
               datapoints_to_alarm: int = 3) -> None:
        CloudwatchMetricAlarm(
            self, what, alarm_name=self._props.names.alarm(what), alarm_description=description,
            comparison_operator="GreaterThanThreshold", threshold=threshold,
            evaluation_periods=evaluation_periods, datapoints_to_alarm=datapoints_to_alarm,
            treat_missing_data="notBreaching",
            alarm_actions=[self._topic_arn], ok_actions=[self._topic_arn],
            metric_query=queries, namespace=namespace, metric_name=metric, dimensions=dimensions,
            statistic=statistic, extended_statistic=extended_statistic,
            period=None if queries else PERIOD)

    @staticmethod
    def _expression(id: str, expression: str) -> CloudwatchMetricAlarmMetricQuery:
        return CloudwatchMetricAlarmMetricQuery(id=id, expression=expression, return_data=True)

    @staticmethod
    def _metric(id: str, namespace: str, name: str, dimensions: dict[str, str], stat: str) -> CloudwatchMetricAlarmMetricQuery:
        return CloudwatchMetricAlarmMetricQuery(id=id, return_data=False, metric=CloudwatchMetricAlarmMetricQueryMetric(
            namespace=namespace, metric_name=name, dimensions=dimensions, stat=stat, period=PERIOD))

    def _store_query(self, function: str, metric: str) -> CloudwatchMetricAlarmMetricQuery:
        """MemoryDB metrics are per node (ClusterName, NodeName): aggregate the cluster's nodes."""
        query = (f'SELECT {function}({metric}) FROM SCHEMA("AWS/MemoryDB", ClusterName, NodeName) '
                 f"WHERE ClusterName = '{self._props.store_cluster_name}'")
        return CloudwatchMetricAlarmMetricQuery(id="store", expression=query, period=PERIOD, return_data=True)

    # --------------------------------------------------------------- dashboard
    def _dashboard(self) -> dict[str, Any]:
        p = self._props
        lb = ["LoadBalancer", p.load_balancer_arn_suffix]
        ecs = ["ClusterName", p.cluster_name, "ServiceName", p.service_name]
        env = ["Environment", p.environment]
        columns = [
            ("Load balancer", [
                ("Requests", [["AWS/ApplicationELB", "RequestCount", *lb, {"stat": "Sum"}]]),
                ("5xx responses", [["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", *lb, {"stat": "Sum"}],
                                   ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", *lb, {"stat": "Sum"}]]),
                ("Response time p50 / p95 (s)", [["AWS/ApplicationELB", "TargetResponseTime", *lb, {"stat": "p50"}],
                                                 ["AWS/ApplicationELB", "TargetResponseTime", *lb, {"stat": "p95"}]]),
            ]),
            ("Session service", [
                ("CPU / memory (%)", [["AWS/ECS", "CPUUtilization", *ecs], ["AWS/ECS", "MemoryUtilization", *ecs]]),
                ("Running tasks", [["ECS/ContainerInsights", "RunningTaskCount", *ecs, {"stat": "Average"}]]),
                ("Sessions", [[APP_NAMESPACE, name, *env, {"stat": "Sum"}]
                              for name in ("SessionsCreated", "SessionReads", "SessionMisses", "SessionsDeleted")]),
            ]),
            ("Session store", [
                ("Engine CPU per node (%)", [self._store_search("EngineCPUUtilization", "Maximum")]),
                ("Memory used per node (%)", [self._store_search("DatabaseMemoryUsagePercentage", "Maximum")]),
                ("Connections per node", [self._store_search("CurrConnections", "Maximum")]),
                ("Store latency (ms) / errors", [[APP_NAMESPACE, "StoreLatency", *env, {"stat": "p99"}],
                                                 [APP_NAMESPACE, "StoreErrors", *env, {"stat": "Sum", "yAxis": "right"}]]),
            ]),
        ]
        widgets = []
        for x, (_, graphs) in enumerate(columns):
            for y, (title, metrics) in enumerate(graphs):
                widgets.append({"type": "metric", "x": x * 8, "y": y * 6, "width": 8, "height": 6, "properties": {
                    "title": f"{columns[x][0]}: {title}", "region": p.region, "view": "timeSeries",
                    "period": PERIOD, "stat": "Average", "metrics": metrics}})
        return {"widgets": widgets}

    def _store_search(self, metric: str, stat: str) -> list:
        expression = (f"SEARCH('{{AWS/MemoryDB,ClusterName,NodeName}} MetricName=\"{metric}\" "
                      f"ClusterName=\"{self._props.store_cluster_name}\"', '{stat}', {PERIOD})")
        return [{"expression": expression, "id": f"s_{metric.lower()}", "label": metric}]
