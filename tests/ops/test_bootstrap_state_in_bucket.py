"""`[backend] bootstrap_state = "bucket"`: session-bootstrap's local state moves into the state
bucket (the emulator's S3, real terraform), and from then on no clean-up of the checkout can
lose it: after `rm -rf cdktf.out` and a new synthesis, init and plan find it in the bucket.

As in test_bootstrap_state.py the synthesized stack keeps its backend and carries one resource
that needs no AWS (terraform_data), so the test is about where the state lives."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import boto3
import pytest

from deploy.bootstrap_state import MOVED_SUFFIX, keeps_state_in_bucket, main, move_into_bucket
from deploy.stack_deploy import deploy_steps
from deploy.synthesis import synthesize
from deploy.terraform import cli_environment, terraform
from emulator import start_emulator
from stacks.bootstrap_stack import STACK_NAME, STATE_FILE
from stacks.settings import BackendSettings

ROOT = Path(__file__).resolve().parents[2]
BUCKET = BackendSettings().state_bucket
KEY = BackendSettings().state_key(STACK_NAME)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    handle = start_emulator(log_path=tmp_path_factory.mktemp("emulator") / "emulator.log")
    try:
        s3 = boto3.client("s3", endpoint_url=handle.url, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
        s3.create_bucket(Bucket=BUCKET)  # what the bootstrap's first (local) apply created
        yield handle, s3
    finally:
        handle.stop()


def config_dir(tmp_path: Path, bootstrap_state: str) -> Path:
    folder = tmp_path / f"config-{bootstrap_state}"
    shutil.copytree(ROOT / "config", folder, dirs_exist_ok=True)
    common = folder / "common.toml"
    common.write_text(common.read_text().replace("[backend]\n", f'[backend]\nbootstrap_state = "{bootstrap_state}"\n', 1))
    return folder


def synthesize_state_only(outdir: Path, config: Path) -> Path:
    """A clean synthesis (as `make synth`), the bootstrap stack reduced to its backend + terraform_data."""
    shutil.rmtree(outdir, ignore_errors=True)
    done = synthesize(outdir, env={"SESSION_CONFIG_DIR": str(config)})
    assert done.returncode == 0, done.stderr
    stack_dir = outdir / "stacks" / STACK_NAME
    backend = json.loads((stack_dir / "cdk.tf.json").read_text())["terraform"]["backend"]
    (stack_dir / "cdk.tf.json").write_text(json.dumps({
        "terraform": {"backend": backend},
        "resource": {"terraform_data": {"marker": {"input": "the state bucket's state"}}}}))
    return stack_dir


def plan_is_empty(stack_dir: Path, env: dict[str, str]) -> bool:
    plan = terraform(stack_dir, env, "plan", "-input=false", "-detailed-exitcode")
    assert plan.returncode in (0, 2), plan.stderr
    return plan.returncode == 0


def test_local_state_moves_into_the_bucket_and_survives_clean_ups(emulator, tmp_path):
    handle, s3 = emulator
    project = tmp_path / "project"
    project.mkdir()
    outdir = project / "cdktf.out"
    env = cli_environment(tmp_path / "tf", handle.env())

    # First apply: the bucket cannot hold the state that creates it, so it starts local.
    stack_dir = synthesize_state_only(outdir, config_dir(tmp_path, "local"))
    assert not keeps_state_in_bucket(stack_dir)
    for args in (["init", "-input=false"], ["apply", "-input=false", "-auto-approve"]):
        assert terraform(stack_dir, env, *args).returncode == 0
    local = project / STATE_FILE
    assert local.is_file()

    # The switch: the deploy steps init against the bucket and move the file there.
    stack_dir = synthesize_state_only(outdir, config_dir(tmp_path, "bucket"))
    assert keeps_state_in_bucket(stack_dir)
    steps = deploy_steps(outdir / "stacks", "session-dev", env, tmp_path / "tf.log",
                         backend_args=handle.s3_backend_args())
    for title, action in steps[:2]:  # init with the S3 backend, the move (the applies need AWS)
        assert action() is None, title
    assert not local.exists() and (project / (STATE_FILE + MOVED_SUFFIX)).is_file()
    in_bucket = json.loads(s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read())
    assert [r["type"] for r in in_bucket["resources"]] == ["terraform_data"]
    assert plan_is_empty(stack_dir, env)  # the marker is known: nothing to create again
    assert move_into_bucket(stack_dir, env) is None  # nothing left to move

    # `make synth` / `make checkov` / `git clean`: the checkout loses nothing that matters.
    stack_dir = synthesize_state_only(outdir, config_dir(tmp_path, "bucket"))
    assert terraform(stack_dir, env, "init", "-input=false", "-reconfigure", *handle.s3_backend_args()).returncode == 0
    assert plan_is_empty(stack_dir, env)

    # A local file beside a state in the bucket: two records of one bucket, left for a person.
    shutil.copy(project / (STATE_FILE + MOVED_SUFFIX), local)
    problem = move_into_bucket(stack_dir, env)
    assert problem and "both record session-bootstrap" in problem and "terraform state push -force" in problem
    assert local.is_file()


def test_the_command_refuses_a_local_bootstrap_stack(tmp_path, capsys):
    outdir = tmp_path / "cdktf.out"
    synthesize_state_only(outdir, config_dir(tmp_path, "local"))
    assert main([str(outdir)]) == 2
    assert 'bootstrap_state = "bucket"' in capsys.readouterr().err


def test_make_bootstrap_state_synthesizes_first():
    dry = subprocess.run(["make", "-n", "bootstrap-state"], cwd=ROOT, capture_output=True, text=True)
    assert "main.py" in dry.stdout and "-m deploy.bootstrap_state cdktf.out" in dry.stdout
