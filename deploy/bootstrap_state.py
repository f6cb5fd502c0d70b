"""`session-bootstrap`'s own state, moved from its local file into the state bucket once
`[backend] bootstrap_state = "bucket"` (stacks/bootstrap_stack.py).

`terraform init -migrate-state` migrates only from the backend recorded in the working folder's
`.terraform/`, which `make synth` deletes with cdktf.out; so the move does not rely on it. After
`init` against the bucket, a bucket that holds no state for the stack gets the local file
(`terraform state push`, which checks lineage and serial), and the local file is renamed
`<name>.moved-to-bucket`, a backup nothing reads. A local file beside a state already in the
bucket is left for a person: two records of one bucket, and only one can be right.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from deploy.terraform import Step, TerraformFailed, cli_environment, failure_message, step, terraform
from stacks.bootstrap_stack import BOOTSTRAP_STATE_PATH, STACK_NAME

MOVED_SUFFIX = ".moved-to-bucket"


def keeps_state_in_bucket(stack_dir: Path) -> bool:
    """Was the bootstrap stack synthesized with the S3 backend?"""
    synthesized = stack_dir / "cdk.tf.json"
    if not synthesized.is_file():
        return False
    return "s3" in json.loads(synthesized.read_text()).get("terraform", {}).get("backend", {})


def local_state_file(stack_dir: Path) -> Path:
    """The file the local backend wrote: next to the output folder (BOOTSTRAP_STATE_PATH)."""
    return (stack_dir / BOOTSTRAP_STATE_PATH).resolve()


def move_into_bucket(stack_dir: Path, env: dict[str, str], log: Path | None = None) -> str | None:
    """Push the local state into the (initialized) S3 backend if it is not there yet; None when
    done or nothing to do, else what stopped it."""
    local = local_state_file(stack_dir)
    if not local.is_file():
        return None
    pulled = terraform(stack_dir, env, "state", "pull", log=log)
    if pulled.returncode != 0:
        return failure_message(pulled, stack_dir)
    remote = json.loads(pulled.stdout) if pulled.stdout.strip() else {}
    if remote.get("resources"):
        return (f"{local} and a state in the bucket both record session-bootstrap. Compare them "
                f"(cd {stack_dir} && terraform state pull); keep the bucket's by renaming the file to "
                f"{local.name}{MOVED_SUFFIX}, or push the file with `terraform state push -force {local}`")
    pushed = terraform(stack_dir, env, "state", "push", str(local), log=log)
    if pushed.returncode != 0:
        return failure_message(pushed, stack_dir)
    local.rename(local.with_name(local.name + MOVED_SUFFIX))
    return None


def bucket_init_steps(stack_dir: Path, env: dict[str, str], log: Path | None,
                      backend_args: Sequence[str] = ()) -> list[Step]:
    """Init the bootstrap stack against the bucket, then move the local state there (once)."""
    return [
        (f"{STACK_NAME}: init with the S3 backend",
         step(stack_dir, env, "init", "-input=false", "-reconfigure", *backend_args, log=log)),
        (f"{STACK_NAME}: its local state into the bucket (once)", lambda: move_into_bucket(stack_dir, env, log)),
    ]


def main(argv: list[str] | None = None) -> int:
    """`python -m deploy.bootstrap_state [OUTDIR] [-backend-config=...]` (`make bootstrap-state`):
    init the synthesized bootstrap stack against the bucket and move the local state there."""
    args = sys.argv[1:] if argv is None else argv
    outdir = Path(args[0]) if args and not args[0].startswith("-") else Path("cdktf.out")
    init_args = [a for a in args if a.startswith("-")]
    stack_dir = outdir / "stacks" / STACK_NAME
    if not keeps_state_in_bucket(stack_dir):
        print(f"{stack_dir} keeps its state locally: set [backend] bootstrap_state = \"bucket\" in "
              "config/common.toml and synthesize again (make synth)", file=sys.stderr)
        return 2
    log = outdir / "bootstrap-state.log"
    env = cli_environment(outdir / ".terraform-cli")
    for title, action in bucket_init_steps(stack_dir, env, log, init_args):
        try:
            problem = action()
        except TerraformFailed as failed:
            problem = str(failed)
        if problem:
            print(f"{title}: {problem} (log: {log})", file=sys.stderr)
            return 1
    print(f"session-bootstrap keeps its state in the bucket; the local file, if there was one, is now "
          f"{local_state_file(stack_dir).name}{MOVED_SUFFIX}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
