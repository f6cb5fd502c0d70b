"""checkov, with each stack's configuration in .checkov/, reports no failed check on a fresh synthesis.

prod is held to the strict configuration: its only skips are what a log bucket is and the MemoryDB events topic (which AWS requires unencrypted); dev and
staging have their own (HTTP only, no WAF, short retention); bootstrap its own.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.infra.conftest import ROOT, STACKS

CHECKOV = ROOT / "tools" / "checkov" / ".venv" / "bin" / "checkov"
CONFIGS = ROOT / ".checkov"
# The checks prod may never skip: HTTPS, WAF, deletion protection, access logs, retention, TLS.
NEVER_SKIPPED_IN_PROD = {"CKV_AWS_2", "CKV_AWS_103", "CKV2_AWS_20", "CKV2_AWS_28", "CKV2_AWS_76", "CKV_AWS_150",
                         "CKV_AWS_91", "CKV_AWS_338"}


def skipped(config: str) -> set[str]:
    return set(re.findall(r"^\s*- (CKV\w+)", (CONFIGS / f"{config}.yaml").read_text(), re.M))


@pytest.fixture(scope="module")
def reports(synth_dir, tmp_path_factory) -> dict[str, list[dict]]:
    if not CHECKOV.exists():
        pytest.skip("checkov is not installed: run `make install` or `cd tools/checkov && pipenv sync`")
    out: dict[str, list[dict]] = {}
    scratch = tmp_path_factory.mktemp("checkov")
    for path in sorted(CONFIGS.glob("*.yaml")):
        # The project's configuration, pointed at this session's synthesis instead of cdktf.out/.
        text = path.read_text()
        stack = f"session-{path.stem}"
        assert f"  - cdktf.out/stacks/{stack}\n" in text, path
        config = scratch / path.name
        config.write_text(text.replace(f"  - cdktf.out/stacks/{stack}\n", f"  - {synth_dir / stack}\n"))
        result = subprocess.run([str(CHECKOV), "--config-file", str(config), "-o", "json"], cwd=scratch,
                                capture_output=True, text=True, timeout=300)
        assert result.stdout, result.stderr[-3000:]
        data = json.loads(result.stdout)
        out[stack] = data if isinstance(data, list) else [data]
    return out


def test_every_stack_has_its_configuration():
    assert sorted(f"session-{p.stem}" for p in CONFIGS.glob("*.yaml")) == sorted(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_checkov_reports_no_failed_check(reports, stack):
    report = reports[stack]
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']})" for r in report for c in r["results"]["failed_checks"]]
    assert failed == []
    assert sum(r["summary"]["passed"] for r in report) > (10 if stack == "session-bootstrap" else 100)
    assert all(r["summary"]["parsing_errors"] == 0 for r in report)


def test_prod_is_strict():
    """With zero failed checks, this means prod passes every check dev and staging are excused from."""
    assert not skipped("prod") & NEVER_SKIPPED_IN_PROD
    assert NEVER_SKIPPED_IN_PROD - {"CKV2_AWS_76"} <= skipped("dev") | {"CKV_AWS_338"}
    # Only the access-log bucket's nature (see .checkov/prod.yaml): four S3 checks.
    assert skipped("prod") == {"CKV_AWS_145", "CKV_AWS_18", "CKV2_AWS_62", "CKV_AWS_144", "CKV_AWS_26"}
    assert skipped("prod") < skipped("dev") | skipped("bootstrap") | {"CKV_AWS_145"}


@pytest.mark.parametrize("config", [p.stem for p in sorted(CONFIGS.glob("*.yaml"))])
def test_every_skipped_check_has_a_reason(config):
    lines = [line for line in (CONFIGS / f"{config}.yaml").read_text().splitlines() if line.strip().startswith("- CKV")]
    assert lines or config == "prod"
    for line in lines:
        assert "#" in line and len(line.split("#", 1)[1].strip()) > 10, line
