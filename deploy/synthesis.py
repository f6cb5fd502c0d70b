"""Synthesize every stack in a fresh `python main.py` process, as `cdktf synth` does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def synthesize(outdir: Path, *, eager: bool = False, timeout: int = 600,
               env: dict[str, str] | None = None, python: str = sys.executable) -> subprocess.CompletedProcess:
    """Write the stacks to `outdir`; `eager=True` uses the documented whole-package import;
    `env` adds variables (say, SESSION_CONFIG_DIR); `python` is the toolchain's venv (stacks/toolchain.py).

    NODE_OPTIONS is dropped: a parent that imported `stacks` carries the lean loader's Node
    preload, which must not leak into an eager run (the child sets its own when lean).
    """
    child = {**os.environ, **(env or {}), "CDKTF_OUTDIR": str(outdir),
             "SESSION_EAGER_PROVIDER_IMPORT": "1" if eager else "0", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    child.pop("NODE_OPTIONS", None)
    return subprocess.run([python, "main.py"], cwd=ROOT, env=child, capture_output=True, text=True,
                          timeout=timeout)
