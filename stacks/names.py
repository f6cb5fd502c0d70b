"""Resource names of one environment, derived only from the project and environment.

Names never carry random suffixes: a new synth must never rename (and so replace) the
database or anything else.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResourceNames:
    prefix: str  # "<project>-<environment>", e.g. "session-app-dev"
    path: str = ""  # "<project>/<environment>", for names that are paths (log groups)

    @classmethod
    def for_environment(cls, project: str, environment: str) -> "ResourceNames":
        return cls(f"{project}-{environment}", f"{project}/{environment}")

    @property
    def _path(self) -> str:
        return self.path or self.prefix

    # Load balancing (AWS limit: 32 characters).
    @property
    def load_balancer(self) -> str:
        return f"{self.prefix}-alb"

    @property
    def target_group(self) -> str:
        return f"{self.prefix}-tg"

    @property
    def alternate_target_group(self) -> str:  # blue/green deployments' second group
        return f"{self.prefix}-tg-alt"

    # MemoryDB (AWS limit: 40 lowercase characters).
    @property
    def store_cluster(self) -> str:
        return self.prefix

    @property
    def store_acl(self) -> str:
        return f"{self.prefix}-acl"

    @property
    def store_user(self) -> str:
        return f"{self.prefix}-app"

    @property
    def store_subnet_group(self) -> str:
        return f"{self.prefix}-subnets"

    def store_parameter_group(self, family: str) -> str:
        """One name per engine family (`<prefix>-valkey7`), so a family change never reuses the
        name of the group the cluster still uses (see stacks/session_store.py)."""
        return f"{self.prefix}-{family.removeprefix('memorydb_')}"

    # IAM (AWS limit: 64 characters).
    @property
    def execution_role(self) -> str:
        return f"{self.prefix}-task-execution"

    @property
    def task_role(self) -> str:
        return f"{self.prefix}-task"

    @property
    def flow_logs_role(self) -> str:
        return f"{self.prefix}-flow-logs"

    # Security groups (may not begin with "sg-").
    @property
    def load_balancer_security_group(self) -> str:
        return f"{self.prefix}-alb"

    @property
    def service_security_group(self) -> str:
        return f"{self.prefix}-service"

    @property
    def store_security_group(self) -> str:
        return f"{self.prefix}-store"

    # ECS.
    @property
    def ecs_cluster(self) -> str:
        return self.prefix

    @property
    def ecs_service(self) -> str:
        return f"{self.prefix}-service"

    @property
    def container(self) -> str:
        return "session-app"

    @property
    def task_family(self) -> str:
        return self.prefix

    @property
    def image_repository(self) -> str:
        return self.prefix

    @property
    def service_log_group(self) -> str:
        return f"/ecs/{self._path}"

    # AWS WAF (the log group name must start with "aws-waf-logs-").
    @property
    def web_acl(self) -> str:
        return f"{self.prefix}-web-acl"

    @property
    def waf_log_group(self) -> str:
        return f"aws-waf-logs-{self.prefix}"

    @property
    def waf_log_policy(self) -> str:
        return f"{self.prefix}-waf-log-delivery"

    # Monitoring and events.
    @property
    def alarm_topic(self) -> str:
        return f"{self.prefix}-alarms"

    @property
    def store_events_topic(self) -> str:
        return f"{self.prefix}-store-events"

    @property
    def dashboard(self) -> str:
        return self.prefix

    def alarm(self, what: str) -> str:
        return f"{self.prefix}-{what}"

    # Scaling policies.
    def scaling_policy(self, what: str) -> str:
        return f"{self.prefix}-{what}"

    @property
    def store_final_snapshot(self) -> str:
        """Stem of the final snapshot name; the cluster's creation time is appended at apply time."""
        return f"{self.prefix}-final"

    @property
    def store_retained_key_alias(self) -> str:
        """The session store's key when final snapshots are on: made by session-bootstrap, so an
        environment's destroy never schedules it for deletion (stacks/retained_keys.py)."""
        return f"alias/{self.prefix}-store-retained"

    def access_logs_bucket(self, account_id: str) -> str:
        """S3 names are global: the account ID (not a random suffix) makes this one unique."""
        return f"{self.prefix}-alb-logs-{account_id}"

    def flow_logs_bucket(self, account_id: str) -> str:
        return f"{self.prefix}-flow-logs-{account_id}"

    @property
    def endpoints_security_group(self) -> str:
        return f"{self.prefix}-endpoints"

    def load_balancer_names(self, blue_green: bool = False) -> dict[str, str]:
        names = {"load balancer name": self.load_balancer, "target group name": self.target_group}
        return {**names, "alternate target group name": self.alternate_target_group} if blue_green else names

    def memorydb_names(self) -> dict[str, str]:
        return {
            "MemoryDB cluster name": self.store_cluster,
            "MemoryDB ACL name": self.store_acl,
            "MemoryDB user name": self.store_user,
            "MemoryDB subnet group name": self.store_subnet_group,
            # The longest family name (valkey7) stands for all of them.
            "MemoryDB parameter group name": self.store_parameter_group("memorydb_valkey7"),
            "MemoryDB final snapshot name": self.store_final_snapshot,
        }

    def iam_role_names(self) -> dict[str, str]:
        return {
            "task execution role name": self.execution_role,
            "task role name": self.task_role,
            "flow logs role name": self.flow_logs_role,
        }

    def security_group_names(self) -> dict[str, str]:
        return {
            "load balancer security group name": self.load_balancer_security_group,
            "service security group name": self.service_security_group,
            "session store security group name": self.store_security_group,
            "endpoints security group name": self.endpoints_security_group,
        }
