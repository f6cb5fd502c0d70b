"""The design card's own tools: `cdktf synth`, `diff`, `deploy` and `destroy` against the emulator.

Offline, as the README's "The cdktf CLI" section shows: the provider from the filesystem mirror
(TF_CLI_CONFIG_FILE), `--skip-provider-lock` (the CLI's `terraform providers lock` ignores
mirrors), the S3 backend pointed at the emulator by AWS_ENDPOINT_URL_S3 and
TF_CLI_ARGS_init=-backend-config=use_path_style=true (for the S3-backend stacks only). One environment stack (session-dev, the
smallest config) after the bootstrap stack; a "release" in between (deploy with the digest, then
the Parameter Store record `make release` writes), after which `cdktf diff` and `cdktf deploy`
WITHOUT the digest plan no destroy: the issue's 5-to-destroy is gone. Its own suite (cdktf-cli):
~8-12 minutes, most of it the provider's fixed MemoryDB destroy wait.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import boto3
import pytest

from deploy.release_record import record_release
from deploy.terraform import cli_environment
from emulator import start_emulator
from stacks.config_loader import load_environment

ROOT = Path(__file__).resolve().parents[2]
DIGEST = "sha256:" + "0" * 64
PLAN = re.compile(r"Plan: (\d+) to add, (\d+) to change, (\d+) to destroy")


def cdktf_environment(emulator, work: Path) -> dict[str, str]:
    """Exactly what the README tells a user to export (plus the mirror, from `make install`)."""
    env = cli_environment(work, emulator.env())
    env.update({
        "AWS_ENDPOINT_URL_S3": emulator.url,
        "TF_CLI_ARGS_init": "-backend-config=use_path_style=true",
        "CHECKPOINT_DISABLE": "1", "CI": "1", "FORCE_COLOR": "0",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    })
    env.pop("TF_VAR_image_digest", None)
    env.pop("NODE_OPTIONS", None)  # the lean loader's preload of this process must not leak (deploy.synthesis)
    return env


def cdktf(env: dict[str, str], outdir: Path, *args: str, log: Path) -> str:
    command = ["npx", "cdktf", *args, "--output", str(outdir)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    with log.open("a") as handle:
        handle.write(f"\n$ {' '.join(command)}  (exit {done.returncode})\n{done.stdout}{done.stderr}")
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{(done.stdout + done.stderr)[-4000:]}"
    return done.stdout + done.stderr


def destroyed_count(output: str) -> int:
    plans = PLAN.findall(output)
    assert plans or "No changes" in output, output[-3000:]
    return sum(int(d) for _, _, d in plans)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    work = tmp_path_factory.mktemp("cdktf-cli")
    with start_emulator(log_path=work / "emulator.log") as handle:
        yield handle, work


def test_cdktf_synth_diff_deploy_destroy_round_trip(emulator):
    handle, work = emulator
    env, outdir, log = cdktf_environment(handle, work / "tf"), work / "cdktf.out", work / "cdktf.log"
    settings = load_environment("dev")
    stack = settings.stack_name

    cdktf(env, outdir, "synth", log=log)
    assert (outdir / "stacks" / stack / "cdk.tf.json").is_file()
    # Its backend is local: `use_path_style` is an S3 backend argument, which init refuses there.
    local = {k: v for k, v in env.items() if k != "TF_CLI_ARGS_init"}
    cdktf(local, outdir, "deploy", "session-bootstrap", "--auto-approve", "--skip-provider-lock", log=log)
    assert (work / "terraform.session-bootstrap.tfstate").is_file()  # next to the output folder

    # A release: deploy with the digest, then the record `make release` writes.
    cdktf(env, outdir, "deploy", stack, "--auto-approve", "--skip-provider-lock", "--var", f"image_digest={DIGEST}",
          log=log)
    ssm = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                region_name=settings.region).client("ssm", endpoint_url=handle.url)
    record_release(ssm, settings.parameter_prefix, DIGEST)
    ecs = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                region_name=settings.region).client("ecs", endpoint_url=handle.url)
    assert ecs.describe_services(cluster=settings.names.ecs_cluster,
                                 services=[settings.names.ecs_service])["services"][0]["status"] == "ACTIVE"

    # The card's tools after the release, no -var: nothing is destroyed.
    assert destroyed_count(cdktf(env, outdir, "diff", stack, "--skip-provider-lock", log=log)) == 0
    deployed = cdktf(env, outdir, "deploy", stack, "--auto-approve", "--skip-provider-lock", log=log)
    assert destroyed_count(deployed) == 0
    assert ecs.describe_services(cluster=settings.names.ecs_cluster,
                                 services=[settings.names.ecs_service])["services"][0]["status"] == "ACTIVE"

    destroyed = cdktf(env, outdir, "destroy", stack, "--auto-approve", "--skip-provider-lock", log=log)
    assert destroyed_count(destroyed) > 0
