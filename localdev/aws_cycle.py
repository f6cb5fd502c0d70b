"""Deploy, prove and destroy one environment against the local AWS emulator.

The project's normal path, not a side door: synthesize with `main.py`, create the state
bucket with the `session-bootstrap` stack, then `terraform init/apply` the environment's
stack with its S3 backend and lock file pointed at the emulator. The synthesized JSON is the
same as for AWS; only the environment (AWS_ENDPOINT_URL, throwaway credentials) and the
backend flags given at init time differ. Then: a second plan must be empty, the original
design's checks must pass through the AWS API, and destroy must leave the state empty.

`run_cycle` is that whole proof (tests/deploy). `deploy` stops before the destroy and leaves the
emulator running: `make demo` uses it so the deployment can be looked at, and `make down`
stops the emulator by its PID.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from emulator import EmulatorHandle, start_emulator
from localdev.aws_checks import run_checks
from localdev.procs import heartbeat
from deploy.synthesis import synthesize
from deploy.release_record import record_release
from deploy.stack_deploy import deploy_steps
from deploy.terraform import cli_environment, destroy, failure_message, terraform
from stacks.config_loader import load_environment
from stacks.settings import EnvironmentSettings

Say = Callable[[str], None]


HEARTBEAT_SECONDS = 10.0


class Step:
    """Times one step and reports it; `fail` records why the cycle failed. A step that runs longer
    than HEARTBEAT_SECONDS says every HEARTBEAT_SECONDS that it is still alive."""

    def __init__(self, say: Say, log: Path, every: float = HEARTBEAT_SECONDS):
        self.say, self.log, self.failures, self.every = say, log, [], every

    def run(self, title: str, action: Callable[[], str | None]) -> bool:
        started = time.monotonic()
        try:
            with heartbeat(title, self.say, self.every):
                problem = action()
        except Exception as error:  # report, never a traceback
            problem = f"{type(error).__name__}: {error}"
        seconds = time.monotonic() - started
        if problem:
            self.failures.append(f"{title}: {problem}")
            self.say(f"  FAILED  {title} ({seconds:.0f}s): {problem}\n          (terraform output: {self.log})")
            return False
        self.say(f"  ok      {title} ({seconds:.0f}s)")
        return True


@dataclass
class Deployment:
    """One environment applied to a running emulator (the emulator outlives the caller when detached)."""

    directory: Path
    settings: EnvironmentSettings
    emulator: EmulatorHandle
    env: dict[str, str]
    stack: Path
    step: Step
    ok: bool = False

    @property
    def pidfile(self) -> Path:
        return self.directory / "emulator.pid"

    def terraform(self, *args: str) -> str | None:
        result = terraform(self.stack, self.env, *args, log=self.step.log)
        return None if result.returncode == 0 else failure_message(result, self.stack)

    def _destroy(self) -> str | None:
        result = destroy(self.stack, self.env, log=self.step.log)
        return None if result.returncode == 0 else failure_message(result, self.stack)

    def destroy(self) -> bool:
        """terraform destroy, then the state must be empty."""
        name = self.settings.stack_name
        destroyed = self.step.run(f"{name}: destroy (MemoryDB alone takes ~5 min of provider waits)",
                                  self._destroy)
        return destroyed and self.step.run("state is empty after destroy",
                                           lambda: _state_is_empty(self.stack, self.env, self.step.log))

    def stop_emulator(self) -> None:
        """Stops the emulator by its PID: whatever it held (resources, state bucket) is gone."""
        self.emulator.stop()
        self.pidfile.unlink(missing_ok=True)
        (self.directory / "emulator.url").unlink(missing_ok=True)


def deploy(directory: Path, *, emulator_port: int | None = 5000, environment: str = "dev", say: Say = print,
           detach: bool = False, second_plan: bool = True, python: str = sys.executable) -> Deployment | None:
    """Synthesize, start the emulator, bootstrap, apply, (second plan), checks. The emulator keeps
    running whatever the outcome (its PID is in `<directory>/emulator.pid`); None if synthesis failed."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "terraform.log"
    log.write_text("")
    settings = load_environment(environment)
    stacks_dir = directory / "cdktf.out" / "stacks"
    step = Step(say, log)
    if not step.run("synthesize every stack (python main.py)", lambda: _synthesize(directory / "cdktf.out", python)):
        return None
    emulator = start_emulator(port=emulator_port, log_path=directory / "emulator.log", detach=detach)
    (directory / "emulator.pid").write_text(f"{emulator.pid}\n")  # so `make down` finds it after a crash
    (directory / "emulator.url").write_text(f"{emulator.url}\n")  # for `python -m localdev aws ...`
    say(f"  emulator (moto with the gaps filled) on {emulator.url}, PID {emulator.pid}")
    env = cli_environment(directory, {**emulator.env(), **released_image()})
    up = Deployment(directory, settings, emulator, env, stacks_dir / settings.stack_name, step)
    name = settings.stack_name
    steps = deploy_steps(stacks_dir, name, env, log, backend_args=emulator.s3_backend_args(),
                         state_bucket=f"state bucket {settings.backend.state_bucket}")
    up.ok = (all(step.run(title, action) for title, action in steps)
             and step.run("record the released digest in Parameter Store (as make release does)",
                          lambda: _record_release(settings, emulator))
             and (not second_plan or step.run(f"{name}: second plan shows no changes",
                                              lambda: _plan_is_empty(up.stack, env, log)))
             and step.run("checks of the original design through the AWS API",
                          lambda: _checks(settings, emulator, say)))
    return up


def run_cycle(directory: Path, *, emulator_port: int | None = 5000, environment: str = "dev",
              say: Say = print, python: str = sys.executable) -> bool:
    """The whole proof: deploy, second plan empty, checks, destroy, empty state; the emulator stops.
    `python`: the interpreter that synthesizes, i.e. the toolchain's venv (stacks/toolchain.py)."""
    up = deploy(directory, emulator_port=emulator_port, environment=environment, say=say, python=python)
    if up is None:
        return False
    try:
        destroyed = up.destroy()  # also after a failed apply: leave nothing behind
        return up.ok and destroyed
    finally:
        up.stop_emulator()


def _record_release(settings: EnvironmentSettings, emulator) -> None:
    """What a release leaves behind: a later plan without -var keeps the service (stacks.variables)."""
    record_release(_client(settings, emulator, "ssm"), settings.parameter_prefix, RELEASED_DIGEST)


def _client(settings: EnvironmentSettings, emulator, service: str):
    import boto3

    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=settings.region)
    return session.client(service, endpoint_url=emulator.url)


RELEASED_DIGEST = "sha256:" + "0" * 64


def released_image() -> dict[str, str]:
    """The emulator runs no containers: any well-formed digest stands for a released image, so
    the cycle applies the whole system (the first-release path is tests/image/test_release.py)."""
    from stacks.variables import IMAGE_DIGEST_VARIABLE  # late: loads cdktf

    return {f"TF_VAR_{IMAGE_DIGEST_VARIABLE}": RELEASED_DIGEST}


def _synthesize(outdir: Path, python: str) -> str | None:
    result = synthesize(outdir, python=python)
    return None if result.returncode == 0 else result.stderr.strip()[-2000:]


def _plan_is_empty(stack: Path, env: dict[str, str], log: Path) -> str | None:
    result = terraform(stack, env, "plan", "-input=false", "-detailed-exitcode", log=log)
    if result.returncode == 0:
        return None
    if result.returncode == 2:
        changes = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("# ")]
        return "the second plan wants changes: " + "; ".join(changes[:10])
    return failure_message(result, stack)


def _state_is_empty(stack: Path, env: dict[str, str], log: Path) -> str | None:
    result = terraform(stack, env, "state", "list", log=log)
    left = [line for line in result.stdout.splitlines() if line.strip()]
    if result.returncode != 0:
        return failure_message(result, stack)
    return f"{len(left)} resource(s) left: {left[:5]}" if left else None


def _checks(settings, emulator, say: Say) -> str | None:
    results = run_checks(settings, lambda service: _client(settings, emulator, service))
    for result in results:
        say(f"          {'pass' if result.ok else 'FAIL'}  {result.name}: {result.detail}")
    failed = [r.name for r in results if not r.ok]
    return f"failed: {', '.join(failed)}" if failed else None
