"""Long applies finish, and Ctrl-C stops them cleanly (deploy.terraform, deploy.release).

A fake `terraform` first on PATH stands for a long apply: it says it started, then waits for
SIGINT, records it, and exits as terraform does after a graceful stop. The test sends SIGINT to
the WRAPPER process only (as a terminal's Ctrl-C would, terraform being in its own session) and
proves the signal reached terraform exactly once, the message names what to do, and no traceback.
The interleaving is forced by files, not by sleeping.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FAKE_TERRAFORM = textwrap.dedent("""\
    #!/usr/bin/env python3
    import os, signal, sys, time
    from pathlib import Path
    marks = Path(os.environ["FAKE_TF_MARKS"])
    if sys.argv[1] == "lock-held":
        sys.stderr.write("Error: Error acquiring the state lock\\n\\nLock Info:\\n  ID:        "
                         "4f1c2d3e-aaaa-bbbb-cccc-0123456789ab\\n  Path:      state/dev/terraform.tfstate\\n")
        sys.exit(1)
    def stop(signum, frame):
        with (marks / "signals").open("a") as handle:
            handle.write(f"{signal.Signals(signum).name}\\n")
        if not (marks / "stopping").exists():
            (marks / "stopping").write_text("1")
            sys.stderr.write("Interrupt received. Gracefully shutting down...\\n"
                             "Error: operation canceled\\n")
            sys.exit(1)
    signal.signal(signal.SIGINT, stop)
    (marks / "started").write_text(str(os.getpid()))
    while True:  # a long apply: no timer of the wrapper may end it
        time.sleep(0.05)
    """)


@pytest.fixture
def fake_terraform(tmp_path: Path) -> dict[str, str]:
    bin_dir, marks = tmp_path / "bin", tmp_path / "marks"
    bin_dir.mkdir()
    marks.mkdir()
    script = bin_dir / "terraform"
    script.write_text(FAKE_TERRAFORM)
    script.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_TF_MARKS": str(marks),
            "PYTHONPATH": str(ROOT)}


def _wait_for(path: Path, process: subprocess.Popen) -> None:
    """Until `path` exists (the fake terraform runs); fails only if the wrapper died first."""
    while not path.exists():
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)


def _wrapper(env: dict[str, str], work: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "deploy.terraform", str(work), *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigint_reaches_terraform_once_and_the_wrapper_explains(fake_terraform, tmp_path):
    marks = Path(fake_terraform["FAKE_TF_MARKS"])
    wrapper = _wrapper(fake_terraform, tmp_path, "apply", "-auto-approve")
    _wait_for(marks / "started", wrapper)
    wrapper.send_signal(signal.SIGINT)  # Ctrl-C: only the wrapper's process group gets it
    out, err = wrapper.communicate()
    assert (marks / "signals").read_text().splitlines() == ["SIGINT"]  # forwarded, once
    assert wrapper.returncode == 130
    assert "got SIGINT; waiting for it to save the state and release the lock" in err
    assert "was interrupted" in err and "terraform force-unlock" in err
    assert "Traceback" not in err + out


def test_terraform_runs_in_its_own_session(fake_terraform, tmp_path):
    """The terminal's Ctrl-C goes to the foreground process group: terraform must not be in it,
    or it would get a second SIGINT from the wrapper and abandon its running operations."""
    marks = Path(fake_terraform["FAKE_TF_MARKS"])
    wrapper = _wrapper(fake_terraform, tmp_path, "apply")
    _wait_for(marks / "started", wrapper)
    child = int((marks / "started").read_text())
    assert os.getsid(child) != os.getsid(wrapper.pid)
    wrapper.send_signal(signal.SIGINT)
    wrapper.communicate()


def test_a_held_lock_is_one_line_with_the_unlock_command(fake_terraform, tmp_path):
    done = subprocess.run([sys.executable, "-m", "deploy.terraform", str(tmp_path), "lock-held"], cwd=ROOT,
                          env=fake_terraform, capture_output=True, text=True)
    assert done.returncode == 1
    assert f"cd {tmp_path} && terraform force-unlock 4f1c2d3e-aaaa-bbbb-cccc-0123456789ab" in done.stderr
    assert "Traceback" not in done.stderr


def test_release_forwards_ctrl_c_to_the_apply_it_runs_in_a_thread(fake_terraform, tmp_path):
    """deploy.release applies in a worker thread (liveness lines): the main thread's Ctrl-C must
    still reach terraform, and the release ends with RELEASE FAILED and what to do, no traceback."""
    marks = Path(fake_terraform["FAKE_TF_MARKS"])
    program = textwrap.dedent(f"""\
        import sys
        from pathlib import Path
        from deploy import release
        try:
            release._apply(Path({str(tmp_path)!r}), dict(__import__("os").environ), Path({str(tmp_path / "log")!r}),
                           "sha256:" + "0" * 64, print)
        except release.ReleaseFailed as failure:
            print(f"RELEASE FAILED: {{failure}}")
            sys.exit(1)
        """)
    process = subprocess.Popen([sys.executable, "-c", program], cwd=ROOT, env=fake_terraform,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(marks / "started", process)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate()
    assert (marks / "signals").read_text().splitlines() == ["SIGINT"]
    assert process.returncode == 1, out + err
    assert "RELEASE FAILED: interrupted during terraform apply" in out and "force-unlock" in out
    assert "Traceback" not in out + err


def test_no_kill_timer_on_terraform():
    """The old wrapper killed terraform after 30 minutes (subprocess.run(timeout=1800))."""
    import inspect

    from deploy import terraform

    assert "timeout" not in inspect.signature(terraform.terraform).parameters



SNAPSHOTTING_TERRAFORM = textwrap.dedent("""\
    #!/usr/bin/env python3
    import os, sys
    from pathlib import Path
    calls = Path(os.environ["FAKE_TF_MARKS"]) / "calls"
    n = int(calls.read_text()) + 1 if calls.exists() else 1
    calls.write_text(str(n))
    if n < 3:  # what hashicorp/aws 5.100's delete waiter says while the final snapshot is taken
        sys.stderr.write("Error: waiting for MemoryDB Cluster (session-app-prod) delete: "
                         "unexpected state 'snapshotting', wanted target ''.\\n")
        sys.exit(1)
    print("Destroy complete! Resources: 0 destroyed.")
    """)
FAILING_TERRAFORM = "#!/bin/sh\necho 'Error: AccessDenied' >&2\necho x >> \"$FAKE_TF_MARKS/calls\"\nexit 1\n"


def _fake(fake_terraform: dict[str, str], text: str) -> Path:
    script = Path(fake_terraform["PATH"].split(os.pathsep)[0]) / "terraform"
    script.write_text(text)
    return Path(fake_terraform["FAKE_TF_MARKS"]) / "calls"


def test_destroy_waits_out_the_final_snapshot(fake_terraform, tmp_path):
    """The provider's waiter fails while MemoryDB reports `snapshotting`; destroy runs again."""
    from deploy.terraform import destroy

    calls = _fake(fake_terraform, SNAPSHOTTING_TERRAFORM)
    result = destroy(tmp_path, fake_terraform, wait_seconds=0)
    assert result.returncode == 0 and "Destroy complete" in result.stdout
    assert calls.read_text() == "3"


def test_destroy_does_not_retry_other_failures(fake_terraform, tmp_path):
    from deploy.terraform import destroy

    calls = _fake(fake_terraform, FAILING_TERRAFORM)
    assert destroy(tmp_path, fake_terraform, wait_seconds=0).returncode == 1
    assert calls.read_text() == "x\n"
