"""Command line: `python -m emulator serve --port 5000`."""

import argparse
import sys

from emulator.server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator")
    sub = parser.add_subparsers(dest="command", required=True)
    srv = sub.add_parser("serve", help="run moto with the gap fills until SIGTERM")
    srv.add_argument("--port", type=int, default=5000)
    # Loopback by default: the emulator accepts any credentials.
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--pidfile", default=None, help="write this process's PID here")
    args = parser.parse_args(argv)
    serve(host=args.host, port=args.port, pidfile=args.pidfile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
