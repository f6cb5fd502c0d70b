"""Command line: ``python -m app serve | healthcheck | revoke-user ID | config``."""

from __future__ import annotations

import argparse
import asyncio
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


def cmd_revoke_user(args) -> int:
    from . import payload
    from .observability import Observability
    from .sessions import SessionService
    from .store import Store, StoreUnavailable

    if not payload.valid_user_id(args.user_id):
        print("invalid user id", file=sys.stderr)
        return 2
    settings = _settings()

    async def run() -> int:
        obs = Observability(settings.environment, settings.instance_name)
        store = Store(settings)
        service = SessionService(store, settings, obs)
        try:
            n = await service.revoke_user(args.user_id)
        finally:
            await store.aclose()
        obs.flush()
        return n

    try:
        n = asyncio.run(run())
    except StoreUnavailable as exc:
        print(f"session store unavailable: {exc}", file=sys.stderr)
        return 1
    print(f'{{"user_id": "{args.user_id}", "revoked": {n}}}')
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
    sub.add_parser("config", help="validate the configuration and print it").set_defaults(func=cmd_config)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
