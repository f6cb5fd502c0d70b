"""One code base, two toolchains: cdktf 0.21 + aws 5.100 and CDK Terrain (cdktn) + aws 6.x.

Every stack is synthesized by each toolchain in its own venv (`python main.py`, as `make synth`
does). The JSON must be identical apart from three known fields; checkov must pass on both;
the cdktn output with its pin rewritten to 5.100.0 must pass `terraform validate` with the
mirrored provider (the shared subset: today, everything); with the pinned 6.x provider at hand,
the full validate runs too. docs/toolchains.md says what this proves and what it cannot.
"""

from __future__ import annotations

import copy
import filecmp
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.terraform import TF_MIRROR, terraform
from tests.infra.conftest import ROOT, STACKS
from tests.infra.terraform_cli import copy_stack
from tests.infra.workload.test_checkov import CHECKOV, CONFIGS

CDKTN_PYTHON = ROOT / "toolchains" / "cdktn" / ".venv" / "bin" / "python"
MIRRORED_PIN = {"source": "aws", "version": "5.100.0"}  # what the cdktf 20.x bindings write


def synthesize_with(python: Path, toolchain: str, outdir: Path, *, eager: bool = False) -> Path:
    env = {**os.environ, "CDKTF_OUTDIR": str(outdir), "CDK_TOOLCHAIN": toolchain,
           "SESSION_EAGER_PROVIDER_IMPORT": "1" if eager else "0",
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    env.pop("NODE_OPTIONS", None)  # the parent's lean-loader preload must not leak into the child
    result = subprocess.run([str(python), "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return outdir


def stacks_of(outdir: Path) -> dict[str, dict]:
    return {name: json.loads((outdir / "stacks" / name / "cdk.tf.json").read_text()) for name in STACKS}


def without_known_differences(stack: dict) -> dict:
    """The fields the toolchains write differently: CDK version, provider source, pin, and (in
    the `//` comment Terraform ignores) the override cdktf needs for `use_lockfile`, which cdktn's
    S3Backend writes natively; the argument itself is compared."""
    stack = copy.deepcopy(stack)
    stack["//"]["metadata"].pop("version")
    overrides = stack["//"]["metadata"].get("overrides", {})
    overrides.pop("stack", None)
    if not overrides:
        stack["//"]["metadata"].pop("overrides", None)
    stack["terraform"]["required_providers"]["aws"] = {}
    return stack


@pytest.fixture(scope="module")
def cdktn_python() -> Path:
    # `make test` installs both environments; a missing one is a broken install, not a skip.
    assert CDKTN_PYTHON.exists(), "the cdktn environment is missing: run `make install TOOLCHAIN=cdktn`"
    return CDKTN_PYTHON


@pytest.fixture(scope="module")
def outputs(cdktn_python, tmp_path_factory) -> dict[str, Path]:
    scratch = tmp_path_factory.mktemp("toolchains")
    return {"cdktf": synthesize_with(Path(sys.executable), "cdktf", scratch / "cdktf"),
            "cdktn": synthesize_with(cdktn_python, "cdktn", scratch / "cdktn")}


def test_the_cdktn_venv_has_its_pinned_line(cdktn_python):
    output = subprocess.run([str(cdktn_python), "-c", "import importlib.metadata as m; print(*(m.version(p) for p in "
                             "('cdktn', 'cdktn-provider-aws', 'constructs')))"],
                            capture_output=True, text=True, timeout=60, check=True).stdout.split()
    assert output[:2] == ["0.24.0", "25.8.1"]
    assert re.fullmatch(r"10\.[67]\.\d+", output[2])


def test_service_pins_match_the_default_environment():
    """The session library pins the stacks need under cdktn are the default Pipfile's."""
    def pins(path: Path) -> dict[str, str]:
        return dict(re.findall(r'^([\w-]+) = "(==[^"]+)"', path.read_text(), re.M))

    cdktn, default = pins(ROOT / "toolchains" / "cdktn" / "Pipfile"), pins(ROOT / "Pipfile")
    for package in ("redis", "hiredis", "orjson", "botocore"):
        assert cdktn[package] == default[package], package


@pytest.mark.parametrize("stack", STACKS)
def test_both_toolchains_write_the_same_stack(outputs, stack):
    cdktf, cdktn = (stacks_of(outputs[name])[stack] for name in ("cdktf", "cdktn"))
    assert cdktf["terraform"]["required_providers"]["aws"] == MIRRORED_PIN
    assert cdktn["terraform"]["required_providers"]["aws"]["source"] == "hashicorp/aws"
    assert cdktn["terraform"]["required_providers"]["aws"]["version"].startswith("6.")
    assert cdktn["//"]["metadata"]["version"] == "0.24.0"
    if stack != "session-bootstrap":  # the bootstrap stack keeps local state (it creates the bucket)
        assert cdktf["terraform"]["backend"]["s3"]["use_lockfile"] is cdktn["terraform"]["backend"]["s3"]["use_lockfile"] is True
    # Same resources under the same logical ids, same arguments: state carries over.
    assert without_known_differences(cdktn) == without_known_differences(cdktf)


def test_lean_loader_is_byte_identical_to_the_documented_import_under_cdktn(cdktn_python, outputs, tmp_path):
    documented = synthesize_with(cdktn_python, "cdktn", tmp_path / "documented", eager=True)
    lean = outputs["cdktn"]
    for stack in STACKS:
        names = sorted(p.name for p in (lean / "stacks" / stack).iterdir())
        _, mismatch, errors = filecmp.cmpfiles(lean / "stacks" / stack, documented / "stacks" / stack, names,
                                               shallow=False)
        assert not mismatch and not errors, (stack, mismatch, errors)
    assert (lean / "manifest.json").read_bytes() == (documented / "manifest.json").read_bytes()


def test_cdktn_loads_only_the_used_submodules(cdktn_python, tmp_path):
    code = ("import sys, tempfile\nfrom stacks.app import build_app\nbuild_app(outdir=tempfile.mkdtemp())\n"
            "import cdktf, cdktf_cdktf_provider_aws as aws\n"
            "print(cdktf.__name__, aws.__name__, sum(1 for m in sys.modules if m.startswith('cdktn_provider_aws.')))")
    env = {**os.environ, "TMPDIR": str(tmp_path), "CDK_TOOLCHAIN": "cdktn"}
    env.pop("NODE_OPTIONS", None)
    result = subprocess.run([str(cdktn_python), "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    core, provider, count = result.stdout.split()
    assert (core, provider) == ("cdktn", "cdktn_provider_aws")  # aliases, one module object each
    assert 10 < int(count) < 150  # of ~2,400


def test_a_toolchain_that_is_not_installed_is_refused_by_name():
    env = {**os.environ, "CDK_TOOLCHAIN": "cdktn"}
    env.pop("NODE_OPTIONS", None)
    result = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0
    assert "CDK_TOOLCHAIN=cdktn" in result.stderr and "make install TOOLCHAIN=cdktn" in result.stderr


@pytest.fixture(scope="module")
def checkov_reports(outputs, tmp_path_factory) -> dict[tuple[str, str], dict]:
    if not CHECKOV.exists():
        pytest.skip("checkov is not installed: run `make install` or `cd tools/checkov && pipenv sync`")
    scratch = tmp_path_factory.mktemp("checkov-toolchains")
    reports = {}
    for toolchain, outdir in outputs.items():
        for path in sorted(CONFIGS.glob("*.yaml")):
            stack = f"session-{path.stem}"
            config = scratch / f"{toolchain}-{path.name}"
            config.write_text(path.read_text().replace(f"  - cdktf.out/stacks/{stack}\n",
                                                       f"  - {outdir / 'stacks' / stack}\n"))
            result = subprocess.run([str(CHECKOV), "--config-file", str(config), "-o", "json"], cwd=scratch,
                                    capture_output=True, text=True, timeout=300)
            assert result.stdout, result.stderr[-3000:]
            data = json.loads(result.stdout)
            reports[(toolchain, stack)] = data if isinstance(data, dict) else data[0]
    return reports


@pytest.mark.parametrize("stack", STACKS)
def test_checkov_passes_on_both(checkov_reports, stack):
    summaries = {t: checkov_reports[(t, stack)]["summary"] for t in ("cdktf", "cdktn")}
    for toolchain, summary in summaries.items():
        assert summary["failed"] == 0 and summary["parsing_errors"] == 0, (toolchain, summary)
    assert summaries["cdktf"]["passed"] == summaries["cdktn"]["passed"]


def validate(directory: Path, terraform_env: dict[str, str]) -> dict:
    init = terraform(directory, terraform_env, "init", "-backend=false", "-input=false")
    assert init.returncode == 0, init.stdout[-2000:] + init.stderr[-2000:]
    return json.loads(terraform(directory, terraform_env, "validate", "-json").stdout)


@pytest.mark.parametrize("stack", STACKS)
def test_cdktn_output_validates_with_the_mirrored_5_100_provider(outputs, terraform_env, tmp_path, stack):
    """The shared subset (what both lines accept): the cdktn JSON with the 5.100.0 pin."""
    directory = copy_stack(outputs["cdktn"] / "stacks", stack, tmp_path)
    document = json.loads((directory / "cdk.tf.json").read_text())
    document["terraform"]["required_providers"]["aws"] = {"source": "hashicorp/aws", "version": "5.100.0"}
    (directory / "cdk.tf.json").write_text(json.dumps(document))
    report = validate(directory, terraform_env)
    assert report["valid"], report["diagnostics"]


def pinned_provider_available(version: str) -> bool:
    """Offline machines can install only what the mirror holds; elsewhere the registry has every version."""
    if not TF_MIRROR.is_dir():
        return True
    return (TF_MIRROR / "registry.terraform.io" / "hashicorp" / "aws" / version).is_dir()


@pytest.mark.parametrize("stack", STACKS)
def test_cdktn_output_validates_with_its_pinned_provider(outputs, terraform_env, tmp_path, stack):
    pin = stacks_of(outputs["cdktn"])[stack]["terraform"]["required_providers"]["aws"]["version"]
    if not pinned_provider_available(pin):
        pytest.skip(f"hashicorp/aws {pin} (the cdktn bindings' pin) is not in the provider mirror {TF_MIRROR}: "
                    "only the shared subset is validated here (docs/toolchains.md)")
    report = validate(copy_stack(outputs["cdktn"] / "stacks", stack, tmp_path), terraform_env)
    assert report["valid"], report["diagnostics"]


CDKTN_CLI_BIN = ROOT / "toolchains" / "cdktn" / "cli" / "node_modules" / ".bin"


def test_the_cdktn_cli_synthesizes_the_same_stacks(outputs, terraform_env, tmp_path):
    """`cdktn synth` on Node 22 from npm (docs/toolchains.md) writes what `python main.py` does."""
    if not (CDKTN_CLI_BIN / "cdktn").exists():
        pytest.skip("the cdktn CLI is not installed: `make install TOOLCHAIN=cdktn` (npm: cdktn-cli, node 22)")
    env = {**terraform_env, "PATH": f"{CDKTN_CLI_BIN}:{os.environ['PATH']}", "CDK_TOOLCHAIN": "cdktn",
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    env.pop("NODE_OPTIONS", None)
    result = subprocess.run(["cdktn", "synth", "--app", f"{CDKTN_PYTHON} main.py", "--output", str(tmp_path / "out")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert stacks_of(tmp_path / "out") == stacks_of(outputs["cdktn"])


def test_an_unknown_toolchain_is_refused_by_name():
    from stacks.toolchain import ToolchainError, detect

    with pytest.raises(ToolchainError, match=r"CDK_TOOLCHAIN='cdk': must be one of cdktf, cdktn"):
        detect({"CDK_TOOLCHAIN": "cdk"})


def test_cdktn_output_deploys_to_the_emulator(outputs, tmp_path):
    """tests/deploy's cycle (apply, second plan empty, the design's checks, destroy), synthesized by cdktn."""
    pin = stacks_of(outputs["cdktn"])["session-dev"]["terraform"]["required_providers"]["aws"]["version"]
    if not pinned_provider_available(pin):
        pytest.skip(f"hashicorp/aws {pin} is not in the provider mirror {TF_MIRROR}: no 6.x apply can run "
                    "offline here (docs/toolchains.md)")
    from localdev.aws_cycle import run_cycle

    lines: list[str] = []
    assert run_cycle(tmp_path / "cycle", emulator_port=None, say=lines.append, python=str(CDKTN_PYTHON)), \
        "\n".join(lines) + "\n" + (tmp_path / "cycle" / "terraform.log").read_text()[-6000:]
