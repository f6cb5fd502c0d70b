#!/usr/bin/env python
"""Run the test suites in parallel and print one combined result.

Each suite is its own pytest process (own servers, own ports), so slow suites (terraform,
emulator deploy, cluster drills) overlap instead of adding up. Output of each suite is kept
in .build/test-logs/<suite>.log and printed whole when the suite ends. The last line is
the total: 'N passed, N failed, N skipped'.

Usage: tests/run_suites.py [SUITE ...]   (default: every suite whose folder exists)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / ".build" / "test-logs"

# name -> pytest arguments. Each suite starts its own servers on free ports; the slow ones
# (emulator probe, deploy cycle) mostly wait on the provider, so they overlap well.
SUITES: dict[str, list[str]] = {
    "infra": ["tests/infra"],
    "app": ["tests/app"],
    # The session library's core and its framework integrations, on one cluster of their own.
    "lib": ["tests/lib"],
    "emulator": ["tests/emulator", "--ignore=tests/emulator/test_emulator_egress_alerts.py"],
    # Provider waits (S3 lifecycle), not CPU: runs beside the emulator suite instead of after it.
    "emulator-egress": ["tests/emulator/test_emulator_egress_alerts.py"],
    "deploy": ["tests/deploy"],
    "changes": ["tests/changes"],
    # The cdktf CLI round trip on the emulator (mostly the MemoryDB destroy wait): overlaps the others.
    "cdktf-cli": ["tests/cdktf_cli"],
    # Terraform wrapper (fake terraform, SIGINT) and bootstrap state durability: seconds.
    "ops": ["tests/ops"],
    "demo": ["tests/demo"],
    "edge": ["tests/edge"],
    # Builds the service image (cold: a Debian base for arm64 under qemu, then app/Dockerfile).
    "image": ["tests/image"],
}


@dataclass
class Result:
    name: str
    returncode: int
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0


def start(name: str, args: list[str]) -> tuple[subprocess.Popen, Path, float]:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{name}.log"
    command = [sys.executable, "-m", "pytest", *args, "-q", "-rfEs", "-p", "no:cacheprovider",
               f"--junitxml={LOGS / f'{name}.xml'}"]
    with log.open("w") as handle:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, env=os.environ.copy())
    return process, log, time.monotonic()


def read_counts(result: Result) -> None:
    path = LOGS / f"{result.name}.xml"
    if not path.exists():
        return
    root = ElementTree.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    for suite in suites:
        total = int(suite.get("tests", 0))
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        result.failed += failed
        result.skipped += skipped
        result.passed += total - failed - skipped


def main(selected: list[str]) -> int:
    names = selected or [n for n, args in SUITES.items() if (ROOT / args[0]).exists()]
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        print(f"unknown suite(s): {', '.join(unknown)}; known: {', '.join(SUITES)}", file=sys.stderr)
        return 2
    print(f"running suites in parallel: {', '.join(names)} (logs in {LOGS.relative_to(ROOT)}/)", flush=True)
    running = {name: start(name, SUITES[name]) for name in names}
    results: list[Result] = []
    while running:
        for name, (process, log, started) in list(running.items()):
            if process.poll() is None:
                continue
            del running[name]
            result = Result(name, process.returncode, seconds=time.monotonic() - started)
            read_counts(result)
            results.append(result)
            print(f"\n===== suite {name}: exit {result.returncode} in {result.seconds:.0f}s =====", flush=True)
            print(log.read_text(), flush=True)
        time.sleep(0.5)
    print("\nsuite       passed  failed  skipped  seconds")
    for r in results:
        print(f"{r.name:<10} {r.passed:>7} {r.failed:>7} {r.skipped:>8} {r.seconds:>8.0f}")
    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results)
    skipped = sum(r.skipped for r in results)
    broken = [r.name for r in results if r.returncode != 0 or r.passed == 0]
    if broken:
        print(f"suites that failed or ran no test: {', '.join(broken)}")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if broken or failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
