"""The lean provider loader: same output as the documented import, loading only what is used."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
import textwrap

from deploy.synthesis import synthesize
from tests.infra.conftest import ROOT, STACKS


def test_output_is_byte_identical_to_the_documented_import(tmp_path):
    lean, documented = tmp_path / "lean", tmp_path / "documented"
    for outdir, eager in ((lean, False), (documented, True)):
        result = synthesize(outdir, eager=eager, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
    for stack in STACKS:
        comparison = filecmp.dircmp(lean / "stacks" / stack, documented / "stacks" / stack)
        assert comparison.left_list == comparison.right_list
        _, mismatch, errors = filecmp.cmpfiles(lean / "stacks" / stack, documented / "stacks" / stack,
                                               comparison.common_files, shallow=False)
        assert not mismatch and not errors, (stack, mismatch, errors)
    assert (lean / "manifest.json").read_bytes() == (documented / "manifest.json").read_bytes()


def run_python(code: str) -> str:
    env = {**os.environ}
    env.pop("NODE_OPTIONS", None)
    env.pop("SESSION_EAGER_PROVIDER_IMPORT", None)
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


def test_reading_settings_does_not_start_the_provider():
    loaded = run_python("""
        import sys
        from stacks.config_loader import load_all
        load_all()
        print(any(m.startswith("cdktf_cdktf_provider_aws.") for m in sys.modules))
    """)
    assert loaded == "False"


def test_only_the_used_submodules_are_loaded():
    count = run_python("""
        import sys
        from stacks.app import build_app
        build_app(outdir=__import__("tempfile").mkdtemp())
        print(sum(1 for m in sys.modules if m.startswith("cdktf_cdktf_provider_aws.")))
    """)
    assert 10 < int(count) < 150  # of ~2,100 (120 in use: the release record added aws_ssm_parameters_by_path)


def test_types_of_unimported_submodules_resolve_on_demand():
    """jsii may hand back an object whose class lives in a submodule nobody imported yet."""
    output = run_python("""
        import sys
        import stacks
        from cdktf_cdktf_provider_aws.vpc import Vpc  # loads the assembly, as any stack does
        from jsii import _reference_map
        assert "cdktf_cdktf_provider_aws.wafv2_web_acl" not in sys.modules
        found = _reference_map._try_import_type_module("@cdktf/provider-aws.wafv2WebAcl.Wafv2WebAcl")
        print(found, "@cdktf/provider-aws.wafv2WebAcl.Wafv2WebAcl" in _reference_map._types)
        import cdktf_cdktf_provider_aws as aws
        print(aws.memorydb_acl.MemorydbAcl.TF_RESOURCE_TYPE)
    """)
    assert output.splitlines() == ["True True", "aws_memorydb_acl"]


def test_node_side_requires_submodules_lazily():
    """A resource of a submodule nobody named before still synthesizes (Node requires it on use)."""
    output = run_python("""
        import json
        import stacks
        from cdktf import App, TerraformStack, Testing
        from cdktf_cdktf_provider_aws.provider import AwsProvider
        from cdktf_cdktf_provider_aws.xray_group import XrayGroup
        stack = TerraformStack(Testing.app(), "probe")
        AwsProvider(stack, "aws", region="us-east-1")
        XrayGroup(stack, "group", group_name="probe", filter_expression="responsetime > 5")
        print(list(json.loads(Testing.synth(stack))["resource"]))
    """)
    assert output == "['aws_xray_group']"
