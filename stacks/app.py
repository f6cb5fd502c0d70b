"""Build the cdktf App: the bootstrap stack and one stack per configured environment."""

from __future__ import annotations

import sys
from pathlib import Path

from cdktf import App

from stacks import toolchain
from stacks.bootstrap_stack import BootstrapStack
from stacks.config_loader import load_all, unlisted_environment_files
from stacks.environment_stack import EnvironmentStack
from stacks.validation import synth_warnings


def build_app(config_dir: Path | None = None, outdir: str | None = None) -> App:
    """All settings are loaded and validated before any construct exists."""
    environments = load_all(config_dir)
    for name in unlisted_environment_files(config_dir):
        print(f"WARNING: config/{name}.toml exists but `environments` in common.toml does not list {name!r}: "
              "it is not synthesized", file=sys.stderr)
    context = toolchain.app_context()
    app = App(outdir=outdir, context=context) if outdir else App(context=context)
    first = environments[0]
    BootstrapStack(app, first.backend, first.project, retained_keys=tuple(
        (s.names, s.region) for s in environments if s.session_store.final_snapshot))
    for settings in environments:
        for warning in synth_warnings(settings):  # loud, but not an error
            print(f"WARNING: {warning}", file=sys.stderr)
        EnvironmentStack(app, settings)
    return app
