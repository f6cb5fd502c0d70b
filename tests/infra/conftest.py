"""Shared fixtures of the infrastructure tests: one synthesis per test session."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# cdktf's Testing.app() and full_synth leave cdktf.outdir.* folders in the temp dir and never
# delete them: keep them in a scratch folder of this run.
_SCRATCH = Path(tempfile.mkdtemp(prefix="infra-tests-", dir=ROOT / ".build" if (ROOT / ".build").is_dir() else None))
os.environ["TMPDIR"] = str(_SCRATCH)
tempfile.tempdir = None
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CHECKPOINT_DISABLE", "1")

ENVIRONMENTS = ("dev", "staging", "prod")
STACKS = ("session-bootstrap",) + tuple(f"session-{env}" for env in ENVIRONMENTS)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SCRATCH, ignore_errors=True)


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory) -> Path:
    """Every stack synthesized once, the way `python main.py` does it."""
    from stacks.app import build_app

    outdir = tmp_path_factory.mktemp("cdktf.out")
    build_app(outdir=str(outdir)).synth()
    return outdir / "stacks"


@pytest.fixture(scope="session")
def synthesized(synth_dir) -> dict[str, dict]:
    """Stack name -> synthesized Terraform JSON."""
    return {name: json.loads((synth_dir / name / "cdk.tf.json").read_text()) for name in STACKS}


@pytest.fixture(scope="session")
def terraform_env(tmp_path_factory) -> dict[str, str]:
    """Environment for the terraform CLI: the provider mirror when present, else the registry.

    AWS_ENDPOINT_URL points at a closed local port so no test ever reaches a real AWS API.
    """
    from deploy.terraform import cli_environment

    return cli_environment(tmp_path_factory.mktemp("terraform"), {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1"})
