"""Run the terraform CLI on synthesized stacks, offline where the provider is mirrored."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

TF_MIRROR = Path(os.environ.get("TF_MIRROR", "/opt/tf-plugins"))


def cli_environment(work_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for terraform: the provider mirror when this machine has one, else the registry."""
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", **(extra or {})}
    env.pop("TF_CLI_CONFIG_FILE", None)
    if TF_MIRROR.is_dir():
        work_dir.mkdir(parents=True, exist_ok=True)
        config = work_dir / "terraformrc"
        config.write_text(
            'provider_installation {\n'
            f'  filesystem_mirror {{\n    path    = "{TF_MIRROR}"\n'
            '    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n'
            '  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n')
        env["TF_CLI_CONFIG_FILE"] = str(config)
    return env


def terraform(directory: Path, env: dict[str, str], *args: str, timeout: int = 1800,
              log: Path | None = None) -> subprocess.CompletedProcess:
    """Run `terraform <args>` in `directory`; output is also appended to `log`."""
    result = subprocess.run(["terraform", *args, "-no-color"], cwd=directory, env=env, capture_output=True,
                            text=True, timeout=timeout)
    if log is not None:
        with log.open("a") as handle:
            handle.write(f"\n$ terraform {' '.join(args)}  (exit {result.returncode})\n{result.stdout}{result.stderr}")
    return result
