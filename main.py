#!/usr/bin/env python
"""Synthesize every stack into cdktf.out/stacks/: session-bootstrap and one per environment.

Settings come from config/*.toml (docs/configuration.md). Invalid settings stop synthesis
with one line per problem, naming the environment, the field, the value and the rule.
"""

from __future__ import annotations

import sys

from stacks.app import build_app
from stacks.validation import InvalidSettings


def main() -> int:
    try:
        app = build_app()
    except InvalidSettings as error:
        print(f"error: {error}", file=sys.stderr)
        print("Fix the setting in config/<environment>.toml (see docs/configuration.md).", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
