#!/usr/bin/env python
"""Cold synthesis of every stack: this project's lean loader against the documented import,
under each installed toolchain (cdktf + aws 5.100; cdktn + aws 6.x once `make install TOOLCHAIN=cdktn`).

Each run is a fresh `python main.py` process (what `cdktf synth` and CI pay), alternating the
two ways so that machine noise hits both alike. Prints each way's median and the ratio.

Usage: python -m bench.synth [--runs N]      (make bench-synth)
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from deploy.synthesis import ROOT, synthesize

# Toolchain -> its venv's interpreter (stacks/toolchain.py picks the toolchain by CDK_TOOLCHAIN).
PYTHONS = {"cdktf": Path(sys.executable), "cdktn": ROOT / "toolchains" / "cdktn" / ".venv" / "bin" / "python"}


def synthesize_once(eager: bool, toolchain: str = "cdktf") -> float:
    outdir = Path(tempfile.mkdtemp(prefix="bench-synth-"))
    started = time.perf_counter()
    result = synthesize(outdir, eager=eager, python=str(PYTHONS[toolchain]), env={"CDK_TOOLCHAIN": toolchain})
    elapsed = time.perf_counter() - started
    stacks = sorted(p.name for p in (outdir / "stacks").iterdir()) if (outdir / "stacks").exists() else []
    shutil.rmtree(outdir, ignore_errors=True)
    if result.returncode != 0 or len(stacks) < 4:
        sys.exit(f"synthesis failed ({toolchain}, eager={eager}):\n{result.stderr[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each way (default 3)")
    runs = parser.parse_args().runs
    for toolchain, python in PYTHONS.items():
        if python.exists():
            report(toolchain, runs)
        else:
            print(f"{toolchain}: not installed (make install TOOLCHAIN={toolchain}), skipped")
    return 0


def report(toolchain: str, runs: int) -> None:
    synthesize_once(False, toolchain)  # warm the jsii package cache once; it is not what we measure
    lean, documented = [], []
    for _ in range(runs):
        lean.append(synthesize_once(False, toolchain))
        documented.append(synthesize_once(True, toolchain))
    lean_median, documented_median = statistics.median(lean), statistics.median(documented)
    print(f"{toolchain}: cold synthesis of all stacks, {runs} runs each, median seconds")
    print(f"  documented import (whole provider package): {documented_median:6.2f}  "
          f"runs: {', '.join(f'{t:.2f}' for t in documented)}")
    print(f"  lean loader (only used submodules):         {lean_median:6.2f}  "
          f"runs: {', '.join(f'{t:.2f}' for t in lean)}")
    print(f"  ratio: the lean loader takes {lean_median / documented_median:.2f} of the documented time "
          f"({documented_median / lean_median:.1f}x faster)")


if __name__ == "__main__":
    sys.exit(main())
