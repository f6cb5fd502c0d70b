"""ELBv2: the load balancer scheme when the request leaves it out.

AWS defaults `Scheme` to `internet-facing`. moto 5.2.5 passes the missing parameter on as
None, so DescribeLoadBalancers returns no `Scheme` at all (the provider sends none for an
internet-facing ALB).
"""

from typing import Any

from moto.elbv2.models import ELBv2Backend

from emulator.fills._patch import wrap_method


def _create_load_balancer(original: Any, self: ELBv2Backend, *args: Any, **kwargs: Any) -> Any:
    if kwargs.get("scheme") is None:
        kwargs["scheme"] = "internet-facing"
    return original(self, *args, **kwargs)


def apply() -> None:
    wrap_method(ELBv2Backend, "create_load_balancer", _create_load_balancer)
