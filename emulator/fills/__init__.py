"""Gap fills for moto 5.2.5, each in its own module; apply_all() patches moto in place.

Every fill adds the missing action (or stored attribute) to moto's own backend and
response classes, so state lives where moto keeps it and moto's reset still works.
"""

from emulator.fills import acm, appautoscaling, ec2, ecs, ecs_deployments, ecs_task_definitions, elbv2, kms, memorydb, s3

_applied = False


def apply_all() -> None:
    """Register every fill once (idempotent: tests may call it again in-process)."""
    global _applied
    if _applied:
        return
    memorydb.apply()
    appautoscaling.apply()
    ecs.apply()
    ecs_task_definitions.apply()
    ecs_deployments.apply()
    ec2.apply()
    kms.apply()
    s3.apply()
    elbv2.apply()
    acm.apply()
    _applied = True
