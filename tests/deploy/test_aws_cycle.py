"""The strongest test that the stacks really apply: the whole cycle against the emulator.

Synthesize, bootstrap the state bucket, apply session-dev through its S3 backend, a second
plan must be empty, the original design's checks pass through the AWS API, destroy leaves an
empty state. Takes ~8 minutes, most of it the provider's fixed MemoryDB destroy wait.
"""

from __future__ import annotations

from localdev.aws_cycle import run_cycle


def test_dev_deploys_plans_clean_checks_and_destroys(tmp_path):
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    assert run_cycle(tmp_path / "cycle", emulator_port=None, say=say), "\n".join(lines) + "\n" + (
        (tmp_path / "cycle" / "terraform.log").read_text()[-6000:])
