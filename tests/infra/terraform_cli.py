"""Copies of synthesized stacks for the terraform CLI (tests only)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

LOCAL_BACKEND_OVERRIDE = {"terraform": {"backend": {"local": {"path": "test.tfstate"}}}}


def copy_stack(synth_dir: Path, stack: str, destination: Path, local_backend: bool = False) -> Path:
    target = destination / stack
    shutil.copytree(synth_dir / stack, target, ignore=shutil.ignore_patterns(".terraform*"))
    if local_backend:
        (target / "override.tf.json").write_text(json.dumps(LOCAL_BACKEND_OVERRIDE))
    return target
