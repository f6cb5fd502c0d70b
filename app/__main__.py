"""Command line: ``python -m app serve | healthcheck | revoke-user ID | users add|remove|list | config``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import urllib.error
import urllib.request

from .config import ConfigError, Settings


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_serve(_args) -> int:
    from .server import serve

    serve(_settings())
    return 0


def cmd_healthcheck(args) -> int:
    """Container health check without curl: GET /healthz on loopback."""
    port = os.environ.get("SESSION_HTTP_PORT", "8080")
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as resp:
            return 0 if resp.status == 200 else 1
    except (urllib.error.URLError, OSError, ValueError):
        return 1


def _with_store(settings, work):
    """Run ``work(store)`` against the configured store; a store error is a message, exit 1."""

    from .observability import Observability
    from .store import open_store
    from .users import DirectoryError

    async def run():
        obs = Observability(settings.environment, settings.instance_name)
        store = open_store(settings, obs)
        try:
            # Learn the slot map first (a TLS handshake per node), outside the per-operation deadline.
            async with asyncio.timeout(settings.store_timeout * 10):
                await store.client.initialize()
            return await work(store)
        finally:
            await store.client.aclose()
            obs.flush()

    try:
        return asyncio.run(run())
    except DirectoryError:
        raise  # the caller names the rule
    except Exception as exc:  # noqa: BLE001 - a command line answers with a message, never a traceback
        print(f"session store error: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def cmd_revoke_user(args) -> int:
    from . import payload

    if not payload.valid_user_id(args.user_id):
        print("invalid user id", file=sys.stderr)
        return 2
    n = _with_store(_settings(), lambda store: store.revoke_user(args.user_id))
    print(json.dumps({"user_id": args.user_id, "revoked": n}))
    return 0


def _read_password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    import getpass

    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        print("the passwords differ", file=sys.stderr)
        raise SystemExit(2)
    return first


def cmd_users(args) -> int:
    """The reference application's user directory (app/users.py)."""
    from .users import Directory, DirectoryError, check_name

    try:
        if args.action in ("add", "remove"):
            check_name(args.name or "")
        password = _read_password(args) if args.action == "add" else None
    except DirectoryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    async def work(store):
        directory = Directory(store.client.cluster)
        if args.action == "add":
            await directory.add(args.name, password)
            return f"added {args.name}"
        if args.action == "remove":
            removed = await directory.remove(args.name)
            if removed:
                await store.revoke_user(args.name)  # a removed account keeps no session
            return f"removed {args.name}" if removed else f"no user {args.name}"
        return "\n".join(await directory.names())

    try:
        print(_with_store(_settings(), work))
    except DirectoryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_config(_args) -> int:
    """Validate the configuration and print it (secrets hidden)."""
    s = _settings()
    print(repr(s))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app", description="Session service")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the HTTP service").set_defaults(func=cmd_serve)
    hc = sub.add_parser("healthcheck", help="exit 0 if /healthz answers 200 on 127.0.0.1")
    hc.add_argument("--timeout", type=float, default=3.0)
    hc.set_defaults(func=cmd_healthcheck)
    ru = sub.add_parser("revoke-user", help="delete every session of a user (log out everywhere)")
    ru.add_argument("user_id")
    ru.set_defaults(func=cmd_revoke_user)
    users = sub.add_parser("users", help="the reference application's user directory")
    users.add_argument("action", choices=("add", "remove", "list"))
    users.add_argument("name", nargs="?")
    users.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    users.set_defaults(func=cmd_users)
    sub.add_parser("config", help="validate the configuration and print it").set_defaults(func=cmd_config)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
