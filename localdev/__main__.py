"""`make demo` and `make down`.

    python -m localdev demo [--port 8080] [--skip-aws]   deploy to the emulator, then run the runtime
    python -m localdev down                              stop everything the demo started
    python -m localdev aws SERVICE OPERATION [--opt v]   look at the deployment on the demo's emulator

Everything runs on 127.0.0.1; every process is stopped by the PID file it left in `.demo/`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from localdev.check import CheckFailed, run_check
from localdev.procs import heartbeat
from localdev.runtime import ROOT, start_runtime, stop_runtime

DEMO_DIR = ROOT / ".demo"
AWS_DIR = DEMO_DIR / "aws"


def demo(args: argparse.Namespace) -> int:
    down(args, quiet=True)  # `make demo` twice in a row works: the second replaces the first
    # The runtime starts first (seconds), so it can be tried while the AWS cycle runs (minutes).
    print("== The runtime on loopback: Redis Cluster for MemoryDB, 3 service instances, HAProxy for the ALB",
          flush=True)
    with heartbeat("the runtime to start", _say):
        state, _cluster = start_runtime(DEMO_DIR / "runtime", lb_port=args.port)
    _print_urls(state)
    if not args.skip_aws:
        from localdev.aws_cycle import deploy

        print("\n== The infrastructure, deployed for real against a local AWS emulator "
              "(a few minutes; the runtime above is already up)", flush=True)
        up = deploy(AWS_DIR, emulator_port=args.emulator_port, say=_say, detach=True, second_plan=False)
        if up is None or not up.ok:
            print("The AWS deploy failed (see above); the runtime is still up. Stop everything: make down",
                  file=sys.stderr)
            return 1
        _print_aws_commands(up.emulator.url, up.settings)
    print("\n== Scripted check through the load balancer", flush=True)
    try:
        with heartbeat("the scripted check", _say):
            run_check(state, say=_say)
    except CheckFailed as failure:
        print(f"CHECK FAILED: {failure}", file=sys.stderr)
        return 1
    print()
    _print_urls(state)
    from localdev.runtime import DEMO_USERS

    accounts = ", ".join(f"{name} / {password}" for name, password in DEMO_USERS.items())
    lb = state.load_balancer_url
    print(f"\nAll running. Try it: open {lb}/ in a browser (two browsers or a private window make two\n"
          f"devices): add an item anonymously, sign in as {accounts}, see your sessions, end the other\n"
          "device, confirm your password (step-up), sign out everywhere. Or with curl:\n"
          f"  curl -i -c /tmp/jar -b /tmp/jar -X POST {lb}/api/sign-in -H 'content-type: application/json' "
          f"-d '{{\"username\": \"alice\", \"password\": \"{DEMO_USERS['alice']}\"}}'\n"
          f"  curl -b /tmp/jar {lb}/api/sessions\n"
          f"  curl -i -b /tmp/jar -X DELETE -H 'X-Session-Request: 1' {lb}/api/users/me/sessions\n"
          f"Add accounts: SESSION_* of an instance + .venv/bin/python -m app users add NAME.  "
          f"Logs: {DEMO_DIR.relative_to(ROOT)}/.  Stop everything: make down")
    return 0


def _print_urls(state) -> None:
    print(f"  load balancer: {state.load_balancer_url}/  (the reference application: sign-in, my sessions)")
    for instance in state.instances:
        print(f"  {instance.name}: {instance.url}/")
    print(f"  session store: Redis Cluster, TLS, ACL user, first node {state.store_endpoint}", flush=True)


def _print_aws_commands(url: str, settings) -> None:
    """Ways to look around the emulator: this project's boto3 wrapper always works; the AWS CLI
    form is printed too when an `aws` command is installed (it is no dependency of the project)."""
    names, prefix = settings.names, settings.parameter_prefix
    looks = [
        ("ecs", "describe-services", ["--cluster", names.ecs_cluster, "--services", names.ecs_service]),
        ("memorydb", "describe-clusters", []),
        ("ssm", "get-parameters-by-path", ["--path", prefix, "--recursive"]),
        ("elbv2", "describe-load-balancers", []),
        ("ecr", "describe-repositories", []),
        ("application-autoscaling", "describe-scalable-targets", ["--service-namespace", "ecs"]),
    ]
    print(f"\n== {settings.stack_name} stays deployed on the emulator ({url}); look around:")
    for service, operation, options in looks:
        print(f"  .venv/bin/python -m localdev aws {service} {operation} {' '.join(options)}".rstrip())
    if shutil.which("aws"):
        print("  or with the AWS CLI:")
        for service, operation, options in looks:
            print(f"  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws --region {settings.region} "
                  f"--endpoint-url {url} {service} {operation} {' '.join(options)}".rstrip())
    print(f"  terraform state: cd {AWS_DIR.relative_to(ROOT)}/cdktf.out/stacks/{settings.stack_name} "
          f"(backend: S3 on the emulator)", flush=True)


def down(_args: argparse.Namespace | None = None, quiet: bool = False, directory: Path = DEMO_DIR) -> int:
    """Stops every process by its pidfile, the emulator included. Stopping the emulator discards the
    deployment: its resources and its Terraform state exist only in the emulator's memory, so there is
    nothing left to destroy, and `terraform destroy` would only add MemoryDB's ~5 minutes of fixed
    provider waits. The destroy path itself is proven by tests/deploy (run_cycle)."""
    stopped = stop_runtime(directory) if directory.exists() else []
    shutil.rmtree(directory, ignore_errors=True)
    if not quiet:
        emulator = " (the AWS emulator among them: session-dev and its state are gone with it)" \
            if "emulator" in stopped else ""
        print(f"stopped {len(stopped)} process(es){emulator}; removed {directory}/")
    return 0


def aws(args: argparse.Namespace) -> int:
    """`aws <service> <operation> [--option value ...]` against the demo's emulator, through boto3."""
    from localdev.aws_look import call

    return call(AWS_DIR, args.service, args.operation, args.options)


def _say(message: str) -> None:
    print(message, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localdev", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("demo", help="deploy to the emulator, run the runtime, check it, leave it running")
    run.add_argument("--port", type=int, default=8080, help="load balancer port on 127.0.0.1 (default 8080)")
    run.add_argument("--emulator-port", type=int, default=5000, help="AWS emulator port (default 5000)")
    run.add_argument("--skip-aws", action="store_true", help="skip part 1 (the emulator deploy cycle)")
    run.set_defaults(func=demo)
    commands.add_parser("down", help="stop everything the demo started").set_defaults(func=down)
    look = commands.add_parser("aws", help="call the demo's AWS emulator: aws SERVICE OPERATION [--option value]")
    look.add_argument("service")
    look.add_argument("operation")
    look.add_argument("options", nargs=argparse.REMAINDER)
    look.set_defaults(func=aws)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
