"""Run the terraform CLI on synthesized stacks, offline where the provider is mirrored.

No kill timer: a first prod apply (MemoryDB nodes, certificates, NAT gateways) takes as long as
AWS takes, and a killed terraform leaves its lock file and resources that exist but are not in
state. Ctrl-C is forwarded as ONE SIGINT, on which terraform stops starting new operations,
waits for the running ones, writes the state and releases the lock ("Interrupt received ...
Gracefully shutting down"); a second SIGINT would make it abandon them, so terraform runs in
its own session (the terminal's Ctrl-C reaches only this wrapper) and the wrapper waits.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

TF_MIRROR = Path(os.environ.get("TF_MIRROR", "/opt/tf-plugins"))

# Every terraform this process runs, so an interrupt in the main thread reaches one started by a
# worker thread too (deploy.release runs applies in a thread to report liveness).
_running: set[subprocess.Popen] = set()
_running_lock = threading.Lock()


class TerraformFailed(Exception):
    """A terraform command that failed or was interrupted; the message says what to do (no traceback)."""


def cli_environment(work_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for terraform: the provider mirror when this machine has one, else the registry."""
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", **(extra or {})}
    env.pop("TF_CLI_CONFIG_FILE", None)
    if TF_MIRROR.is_dir():
        work_dir.mkdir(parents=True, exist_ok=True)
        config = work_dir / "terraformrc"
        config.write_text(
            'provider_installation {\n'
            f'  filesystem_mirror {{\n    path    = "{TF_MIRROR}"\n'
            '    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n'
            '  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n')
        env["TF_CLI_CONFIG_FILE"] = str(config)
    return env


def terraform(directory: Path, env: dict[str, str], *args: str,
              log: Path | None = None) -> subprocess.CompletedProcess:
    """Run `terraform <args>` in `directory` until it ends; output is also appended to `log`.
    Ctrl-C: SIGINT to terraform, wait for it to save state and unlock, then TerraformFailed."""
    process = subprocess.Popen(["terraform", *args, "-no-color"], cwd=directory, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    with _running_lock:
        _running.add(process)
    interrupted = False
    try:
        while True:
            try:
                stdout, stderr = process.communicate()
                break
            except KeyboardInterrupt:
                if not interrupted:
                    interrupted = True
                    process.send_signal(signal.SIGINT)
                    print(f"interrupted: terraform {args[0]} got SIGINT; waiting for it to save the state "
                          "and release the lock (do not kill it)", file=sys.stderr, flush=True)
    finally:
        with _running_lock:
            _running.discard(process)
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    if log is not None:
        with log.open("a") as handle:
            handle.write(f"\n$ terraform {' '.join(args)}  (exit {result.returncode})\n{result.stdout}{result.stderr}")
    if interrupted:
        raise TerraformFailed(f"terraform {args[0]} in {directory} was interrupted; "
                              + failure_message(result, directory, interrupted=True))
    return result


# (title, action): a deploy step's action returns None when it worked, else why it failed.
Step = tuple[str, Callable[[], "str | None"]]


def step(directory: Path, env: dict[str, str], *args: str, log: Path | None = None) -> Callable[[], "str | None"]:
    """`terraform <args>` in `directory` as a deploy step's action."""
    def run() -> str | None:
        result = terraform(directory, env, *args, log=log)
        return None if result.returncode == 0 else failure_message(result, directory)
    return run


# hashicorp/aws 5.100's aws_memorydb_cluster delete waiter (internal/service/memorydb/wait.go,
# waitClusterDeleted) has `deleting` as its only pending state: while MemoryDB takes the final
# snapshot it reports `snapshotting`, and the waiter fails although AWS goes on deleting.
SNAPSHOTTING = "unexpected state 'snapshotting'"


def destroy(directory: Path, env: dict[str, str], *args: str, log: Path | None = None,
            attempts: int = 4, wait_seconds: float = 120.0) -> subprocess.CompletedProcess:
    """`terraform destroy -auto-approve <args>`, run again while the only failure is the MemoryDB
    final snapshot still being taken: the refresh then finds the cluster gone and destroy goes on."""
    import time

    for attempt in range(1, attempts + 1):
        result = terraform(directory, env, "destroy", "-input=false", "-auto-approve", *args, log=log)
        if result.returncode == 0 or SNAPSHOTTING not in result.stdout + result.stderr or attempt == attempts:
            return result
        print(f"MemoryDB is taking the final snapshot: destroy again in {wait_seconds:.0f} s "
              f"(attempt {attempt + 1} of {attempts})", flush=True)
        time.sleep(wait_seconds)
    return result


def interrupt_running() -> int:
    """SIGINT to every terraform this process runs (once each); returns how many."""
    with _running_lock:
        processes = list(_running)
    for process in processes:
        process.send_signal(signal.SIGINT)
    return len(processes)


_LOCK_ID = re.compile(r"^\s*ID:\s*(\S+)", re.MULTILINE)


def failure_message(result: subprocess.CompletedProcess, directory: Path, *, interrupted: bool = False) -> str:
    """The first error line, and for a held state lock the exact command that releases it."""
    text = f"{result.stderr or ''}\n{result.stdout or ''}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error")]
    first = (errors[0] if errors else (lines[-1] if lines else f"exit {result.returncode}"))[:400]
    lock = _LOCK_ID.search(text) if "state lock" in text else None
    if lock:
        return (f"{first}. If no other terraform runs on this state, release the lock: "
                f"cd {directory} && terraform force-unlock {lock.group(1)}")
    if interrupted:
        return (f"terraform exited {result.returncode} after saving its state ({first}). Run the same "
                "command again to finish; if it reports the state locked and no terraform runs, "
                f"`cd {directory} && terraform force-unlock <ID shown>` releases it.")
    return first


def main(argv: list[str] | None = None) -> int:
    """`python -m deploy.terraform DIR ARGS...`: terraform with the mirror, SIGINT forwarding and a
    one-line failure (what the Makefile and tests use around a plain terraform command)."""
    parser = argparse.ArgumentParser(prog="python -m deploy.terraform", description=main.__doc__.split("\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    env = cli_environment(options.directory / ".terraform-wrapper")
    try:
        result = terraform(options.directory, env, *options.args)
    except TerraformFailed as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 130
    sys.stdout.write(result.stdout)
    if result.returncode != 0:
        print(f"FAILED: terraform {options.args[0]}: {failure_message(result, options.directory)}", file=sys.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
