"""`session-<env>`: one environment's whole system, with its state in S3.

Wires the constructs together; each construct gets only its part of the settings and
exposes only what its neighbours need.
"""

from __future__ import annotations

from cdktf import TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_kms_key import DataAwsKmsKey
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from constructs import Construct

from stacks.app_plane import app_plane_ingress
from stacks.encryption import EncryptionKey, EncryptionKeyProps
from stacks.contract import CONFIG_DIGEST_VARIABLE, plain_environment
from stacks.endpoints import Endpoints, EndpointsProps
from stacks.load_balancer import LoadBalancer, LoadBalancerProps
from stacks.monitoring import ROLLBACK_ALARMS, Monitoring, MonitoringProps
from stacks.network import Network, NetworkProps
from stacks.parameters import Parameters, ParametersProps
from stacks.provider import aws_provider
from stacks.scaling import Scaling, ScalingProps
from stacks.security_groups import link
from stacks.service import Service, ServiceProps
from stacks.session_store import SessionStore, SessionStoreProps
from stacks.state_backend import s3_backend
from stacks.settings import EnvironmentSettings
from stacks.variables import StackVariables, define_variables, release_parameter_name
from stacks.waf import Waf, WafProps


class EnvironmentStack(TerraformStack):
    def __init__(self, scope: Construct, settings: EnvironmentSettings):
        super().__init__(scope, settings.stack_name)
        s3_backend(self, settings.backend, settings.state_key)
        aws_provider(self, settings.region, settings.name, settings.project)
        names = settings.names
        self.variables = define_variables(self, settings)
        account_id = DataAwsCallerIdentity(self, "account").account_id
        partition = DataAwsPartition(self, "partition").partition
        self._settings, self._names, self._account_id, self._partition = settings, names, account_id, partition

        key = EncryptionKey(self, "encryption", EncryptionKeyProps(
            name_prefix=settings.name_prefix, account_id=account_id, region=settings.region,
            partition=partition, log_delivery=settings.network.flow_logs_destination == "s3"))
        network = Network(self, "network", NetworkProps(
            name_prefix=settings.name_prefix, settings=settings.network,
            flow_logs_role_name=names.flow_logs_role, account_id=account_id, kms_key_arn=key.key_arn,
            region=settings.region, partition=partition, flow_logs_bucket_name=names.flow_logs_bucket(account_id)))

        self._output("vpc_id", network.vpc_id, "ID of the VPC")
        self._output("public_subnet_ids", network.public_subnet_ids, "Public subnets (load balancer, NAT)")
        self._output("private_subnet_ids", network.private_subnet_ids, "Private subnets (tasks, session store)")
        self._output("kms_key_arn", key.key_arn, "Customer-managed KMS key of this environment")
        self._workload(network, key.key_arn, self.variables)

    def _workload(self, network: Network, key_arn: str, v: StackVariables) -> None:
        """Session store, its configuration, the service behind the load balancer, scaling, alarms."""
        settings, names = self._settings, self._names
        store_key_arn = key_arn
        if settings.session_store.final_snapshot:
            # Final snapshots must stay restorable after destroy: the store uses the key that
            # session-bootstrap keeps (stacks/retained_keys.py), not this stack's key.
            store_key_arn = DataAwsKmsKey(self, "retained-store-key", key_id=names.store_retained_key_alias).arn
        store = SessionStore(self, "session-store", SessionStoreProps(
            names=names, settings=settings.session_store, cluster_name=v.cluster_name,
            node_type=v.memorydb_node_type, num_shards=v.memorydb_num_shards,
            replicas_per_shard=v.memorydb_replicas_per_shard, vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids, kms_key_arn=store_key_arn,
            events_topic_arn=settings.monitoring.alarm_topic_arn))
        parameters = Parameters(self, "parameters", ParametersProps(
            prefix=settings.parameter_prefix, region=settings.region, account_id=self._account_id,
            partition=self._partition, kms_key_arn=key_arn, store_endpoint=store.endpoint, store_port=store.port,
            store_user_name=store.user_name, store_cluster_name=store.cluster_name,
            store_auth_mode=settings.session_store.auth_mode, idle_timeout_seconds=v.session_timeout_seconds,
            absolute_lifetime_seconds=settings.sessions.absolute_lifetime_seconds))
        balancer = LoadBalancer(self, "load-balancer", LoadBalancerProps(
            names=names, settings=settings.load_balancer, account_id=self._account_id, partition=self._partition,
            vpc_id=network.vpc_id, subnet_ids=network.public_subnet_ids, ingress_cidrs=v.allowed_ingress_cidrs,
            target_port=settings.service.container_port, health_check_path=settings.service.health_check_path,
            region=settings.region, blue_green=settings.service.deployment_strategy == "blue_green"))
        if settings.waf_enabled:
            waf = Waf(self, "waf", WafProps(
                names=names, settings=settings.waf, load_balancer_arn=balancer.arn,
                kms_key_arn=key_arn, region=settings.region,
                account_id=self._account_id, partition=self._partition))
            self._output("web_acl_name", waf.web_acl_name, "AWS WAF web ACL in front of the load balancer")
        service = Service(self, "service", ServiceProps(
            names=names, settings=settings.service, region=settings.region, account_id=self._account_id,
            partition=self._partition, kms_key_arn=key_arn, vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids, task_cpu=v.ecs_task_cpu, task_memory=v.ecs_task_memory,
            desired_count=v.desired_count, image_digest=v.image_digest, secrets=parameters.secrets,
            environment={**plain_environment(settings), CONFIG_DIGEST_VARIABLE: parameters.digest},
            parameter_path_arn=parameters.path_arn,
            store_cluster_arn=store.cluster_arn, store_user_arn=store.user_arn,
            target_group_arn=balancer.target_group_arn, depends_on=tuple(balancer.listeners),
            deployment_alarm_names=tuple(names.alarm(what) for what in ROLLBACK_ALARMS),
            https_egress_anywhere=not settings.network.interface_endpoints,
            delete_images_on_destroy=settings.delete_images_on_destroy, blue_green=balancer.blue_green,
            protected=settings.protects_service, release_parameter=release_parameter_name(settings.parameter_prefix)))
        if settings.network.interface_endpoints:
            Endpoints(self, "endpoints", EndpointsProps(
                names=names, region=settings.region, vpc_id=network.vpc_id, subnet_ids=network.private_subnet_ids,
                client_security_group_id=service.security_group_id, s3_prefix_list_id=network.s3_prefix_list_id,
                account_id=self._account_id, sts=settings.calls_sts))
        link(self, "alb-to-service", source_group_id=balancer.security_group_id,
             target_group_id=service.security_group_id, port=settings.service.container_port,
             description="Load balancer to the session service")
        app_plane_ingress(self, service_group_id=service.security_group_id, port=settings.service.app_plane_port,
                          source_groups=settings.service.app_plane_source_security_groups if settings.service.app_plane_port else ())
        link(self, "service-to-store", source_group_id=service.security_group_id,
             target_group_id=store.security_group_id, port=store.port,
             description="Session service to the session store (TLS)")
        Scaling(self, "scaling", ScalingProps(
            names=names, settings=settings.service, cluster_name=service.cluster_name,
            service_name=service.service_name, min_capacity=v.min_capacity, max_capacity=v.max_capacity,
            load_balancer_arn_suffix=balancer.arn_suffix, target_group_arn_suffix=balancer.target_group_arn_suffix,
            service=service.service, protected=settings.protects_service))
        monitoring = Monitoring(self, "monitoring", MonitoringProps(
            names=names, settings=settings.monitoring, environment=settings.name, region=settings.region,
            kms_key_arn=key_arn, load_balancer_arn_suffix=balancer.arn_suffix,
            target_group_arn_suffix=balancer.target_group_arn_suffix, cluster_name=service.cluster_name,
            service_name=service.service_name, store_cluster_name=store.cluster_name,
            events_topic_arn=store.events_topic_arn, container_insights=settings.service.container_insights))

        self._output("application_url", balancer.url, "URL of the session service")
        self._output("load_balancer_dns_name", balancer.dns_name, "DNS name of the load balancer")
        self._output("memorydb_endpoint", store.endpoint, "Cluster endpoint of the MemoryDB session store")
        self._output("parameter_prefix", settings.parameter_prefix, "Parameter Store path of this environment")
        self._output("ecs_cluster_name", service.cluster_name, "ECS cluster")
        self._output("ecs_service_name", service.service_name, "ECS service (created by the first release)")
        self._output("ecr_repository_url", service.repository_url, "Push the session service image here")
        self._output("log_group_name", service.log_group_name, "CloudWatch log group of the service")
        self._output("dashboard_name", monitoring.dashboard_name, "CloudWatch dashboard of this environment")

    def _output(self, name: str, value, description: str) -> None:
        TerraformOutput(self, name, value=value, description=description)
