"""The state of the state bucket survives `make synth` / `make checkov` (both `rm -rf cdktf.out`).

Before, `LocalBackend(path="terraform.session-bootstrap.tfstate")` put it in
cdktf.out/stacks/session-bootstrap/, so every clean synthesis deleted the only record of the
bucket. Proven with real terraform: apply the bootstrap stack's backend to a local state, run
the Makefile's clean-and-synthesize, and read the same state back.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from deploy.synthesis import synthesize
from deploy.terraform import cli_environment, terraform
from stacks.bootstrap_stack import STACK_NAME, STATE_FILE

ROOT = Path(__file__).resolve().parents[2]


def _state_only_stack(stack_json: dict) -> dict:
    """The bootstrap stack's backend with one resource that needs no AWS (terraform_data)."""
    return {"terraform": {"backend": stack_json["terraform"]["backend"]},
            "resource": {"terraform_data": {"marker": {"input": "the state bucket's state"}}}}


def test_bootstrap_state_survives_a_clean_synthesis(tmp_path):
    project = tmp_path / "project"
    outdir = project / "cdktf.out"
    project.mkdir()
    assert synthesize(outdir).returncode == 0
    stack_dir = outdir / "stacks" / STACK_NAME
    stack_json = json.loads((stack_dir / "cdk.tf.json").read_text())
    (stack_dir / "cdk.tf.json").write_text(json.dumps(_state_only_stack(stack_json)))
    env = cli_environment(tmp_path / "tf")
    for args in (["init", "-input=false"], ["apply", "-input=false", "-auto-approve"]):
        done = terraform(stack_dir, env, *args)
        assert done.returncode == 0, done.stderr
    state = project / STATE_FILE
    assert state.is_file(), sorted(str(p.relative_to(project)) for p in project.rglob("*.tfstate"))

    shutil.rmtree(outdir)  # what `make synth` and `make checkov` do first
    assert synthesize(outdir).returncode == 0

    assert state.is_file()
    assert [r["type"] for r in json.loads(state.read_text())["resources"]] == ["terraform_data"]


def test_make_synth_and_checkov_clean_only_cdktf_out():
    """The Makefile's clean-ups remove cdktf.out (and `make clean` .build): none reaches the state file."""
    makefile = (ROOT / "Makefile").read_text()
    removals = [line.strip() for line in makefile.splitlines() if "rm -rf" in line]
    assert removals and all(STATE_FILE not in line and "*.tfstate" not in line for line in removals), removals
    dry = subprocess.run(["make", "-n", "synth"], cwd=ROOT, capture_output=True, text=True)
    assert "rm -rf cdktf.out" in dry.stdout
