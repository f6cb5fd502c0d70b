#!/usr/bin/env python
"""Synthesize every stack into cdktf.out/stacks/: session-bootstrap and one per environment.

Settings come from config/*.toml (docs/configuration.md). Invalid settings stop synthesis
with one line per problem, naming the environment, the field, the value and the rule.
A change that replaces a resource, compared with the previous synthesis in the output
folder, prints a warning naming it (stacks/replacements.py).
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> int:
    try:
        # Importing `stacks` decides the toolchain (stacks/toolchain.py): a missing one is a setup
        # error to name, not a traceback.
        from stacks.app import build_app
    except ImportError as error:
        toolchain = sys.modules.get("stacks.toolchain")
        if toolchain is None or not isinstance(error, toolchain.ToolchainError):
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2
    from stacks.replacements import all_warnings, read_stacks
    from stacks.validation import InvalidSettings

    try:
        app = build_app()
    except InvalidSettings as error:
        print(f"error: {error}", file=sys.stderr)
        print("Fix the setting in config/<environment>.toml (see docs/configuration.md).", file=sys.stderr)
        return 2
    previous = read_stacks(Path(app.outdir))  # what the last synthesis into this folder wrote
    app.synth()
    for line in all_warnings(previous, read_stacks(Path(app.outdir))):
        print(line, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
