"""Resource names of one environment, derived only from the project and environment.

Names never carry random suffixes: a new synth must never rename (and so replace) the
database or anything else.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResourceNames:
    prefix: str  # "<project>-<environment>", e.g. "session-app-dev"

    # Load balancing (AWS limit: 32 characters).
    @property
    def load_balancer(self) -> str:
        return f"{self.prefix}-alb"

    @property
    def target_group(self) -> str:
        return f"{self.prefix}-tg"

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

    @property
    def store_parameter_group(self) -> str:
        return f"{self.prefix}-params"

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

    def load_balancer_names(self) -> dict[str, str]:
        return {"load balancer name": self.load_balancer, "target group name": self.target_group}

    def memorydb_names(self) -> dict[str, str]:
        return {
            "MemoryDB cluster name": self.store_cluster,
            "MemoryDB ACL name": self.store_acl,
            "MemoryDB user name": self.store_user,
            "MemoryDB subnet group name": self.store_subnet_group,
            "MemoryDB parameter group name": self.store_parameter_group,
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
        }
