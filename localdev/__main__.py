"""`make demo` and `make down`.

    python -m localdev demo [--port 8080] [--skip-aws]   deploy to the emulator, then run the runtime
    python -m localdev down                              stop everything the demo started
    python -m localdev release --env dev [--digest sha256:...]   build, push, deploy, wait (AWS)

Everything runs on 127.0.0.1; every process is stopped by the PID file it left in `.demo/`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from localdev.check import CheckFailed, run_check
from localdev.runtime import ROOT, start_runtime, stop_runtime

DEMO_DIR = ROOT / ".demo"


def demo(args: argparse.Namespace) -> int:
    down(args, quiet=True)  # `make demo` twice in a row works: the second replaces the first
    # The runtime starts first (seconds), so it can be tried while the AWS cycle runs (minutes).
    print("== The runtime on loopback: Redis Cluster for MemoryDB, 3 service instances, HAProxy for the ALB",
          flush=True)
    state, _cluster = start_runtime(DEMO_DIR / "runtime", lb_port=args.port)
    _print_urls(state)
    if not args.skip_aws:
        from localdev.aws_cycle import run_cycle

        print("\n== The infrastructure, deployed for real against a local AWS emulator "
              "(about 10 minutes; the runtime above is already up)", flush=True)
        if not run_cycle(DEMO_DIR / "aws", emulator_port=args.emulator_port, say=_say):
            print("The AWS cycle failed (see above); the runtime is still up. Stop it: make down", file=sys.stderr)
            return 1
    print("\n== Scripted check through the load balancer", flush=True)
    try:
        run_check(state, say=_say)
    except CheckFailed as failure:
        print(f"CHECK FAILED: {failure}", file=sys.stderr)
        return 1
    print()
    _print_urls(state)
    print(f"\nAll running. Try it: open {state.load_balancer_url}/ in a browser, or\n"
          f"  curl -i -c /tmp/jar -b /tmp/jar -X POST {state.load_balancer_url}/api/session "
          "-H 'content-type: application/json' -d '{\"data\": {\"cart\": 1}}'\n"
          f"Logs: {DEMO_DIR.relative_to(ROOT)}/.  Stop everything: make down")
    return 0


def _print_urls(state) -> None:
    print(f"  load balancer: {state.load_balancer_url}/  (HTML page: visits, session age, serving instance)")
    for instance in state.instances:
        print(f"  {instance.name}: {instance.url}/")
    print(f"  session store: Redis Cluster, TLS, ACL user, first node {state.store_endpoint}", flush=True)


def down(_args: argparse.Namespace | None = None, quiet: bool = False) -> int:
    stopped = stop_runtime(DEMO_DIR) if DEMO_DIR.exists() else []
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    if not quiet:
        print(f"stopped {len(stopped)} process(es); removed {DEMO_DIR.relative_to(ROOT)}/")
    return 0


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
    ship = commands.add_parser("release", help="build, push and deploy the image by digest; wait for steady state")
    from localdev import release

    release.add_arguments(ship)
    ship.set_defaults(func=lambda args: release.run(args, say=_say))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
