"""`make release`: python -m deploy release --env dev [--digest sha256:...]   build, push, deploy, wait."""

from __future__ import annotations

import argparse
import sys


def _say(message: str) -> None:
    print(message, flush=True)


def main(argv: list[str] | None = None) -> int:
    from deploy import release

    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    ship = commands.add_parser("release", help="build, push and deploy the image by digest; wait for steady state")
    release.add_arguments(ship)
    ship.set_defaults(func=lambda args: release.run(args, say=_say))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
