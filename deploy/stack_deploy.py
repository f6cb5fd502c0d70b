"""The one "bootstrap the state bucket, init with the S3 backend, apply" of every caller.

`make release`, the emulator deploy cycle (tests/deploy, `make demo`), the change matrix, the
edge test and the release test all run exactly these steps on a synthesized output folder, so
a change to how an environment is deployed is made here once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from deploy.bootstrap_state import bucket_init_steps, keeps_state_in_bucket
from deploy.terraform import Step, TerraformFailed, step
from stacks.bootstrap_stack import STACK_NAME as BOOTSTRAP_STACK


def deploy_steps(stacks_dir: Path, stack_name: str, env: dict[str, str], log: Path, *,
                 backend_args: Sequence[str] = (), apply_args: Sequence[str] = (),
                 state_bucket: str = "the state bucket") -> list[Step]:
    """The steps in order; `backend_args` are extra `terraform init` flags (the emulator's S3)."""

    def tf(where: Path, *args: str) -> Callable[[], str | None]:
        return step(where, env, *args, log=log)

    bootstrap, stack = stacks_dir / BOOTSTRAP_STACK, stacks_dir / stack_name
    if keeps_state_in_bucket(bootstrap):  # [backend] bootstrap_state = "bucket"
        bootstrap_init = bucket_init_steps(bootstrap, env, log, backend_args)
    else:
        bootstrap_init = [(f"{BOOTSTRAP_STACK}: init", tf(bootstrap, "init", "-input=false"))]
    return [
        *bootstrap_init,
        (f"{BOOTSTRAP_STACK}: apply ({state_bucket})", tf(bootstrap, "apply", "-input=false", "-auto-approve")),
        (f"{stack_name}: init with the S3 backend", tf(stack, "init", "-input=false", "-reconfigure", *backend_args)),
        (f"{stack_name}: apply", tf(stack, "apply", "-input=false", "-auto-approve", *apply_args)),
    ]


def bootstrap_and_apply(stacks_dir: Path, stack_name: str, env: dict[str, str], log: Path, *,
                        backend_args: Sequence[str] = (), apply_args: Sequence[str] = (),
                        say: Callable[[str], None] = lambda _: None) -> Path:
    """Run `deploy_steps`; raises TerraformFailed naming the step. Returns the stack's folder."""
    for title, action in deploy_steps(stacks_dir, stack_name, env, log, backend_args=backend_args,
                                      apply_args=apply_args):
        say(f"  {title}")
        problem = action()
        if problem:
            raise TerraformFailed(f"{title}: {problem} (terraform output: {log})")
    return stacks_dir / stack_name
