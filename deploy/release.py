"""`make release ENV=<env>`: build, push, deploy by digest, wait for steady state.

    python -m deploy release --env dev                      build + push + deploy + wait
    python -m deploy release --env dev --digest sha256:...  deploy an already-pushed image (rollback)
    python -m deploy release --env dev --dockerfile examples/flask/Dockerfile --context .
                                                              another image (docs/container-contract.md)

1. Build the image for the environment's `service.cpu_architecture` (`deploy.image`).
2. Push it to the environment's ECR repository (`terraform output ecr_repository_url`) with
   `buildah push --digestfile`, logged in with `ecr:GetAuthorizationToken`; the tag is a
   fresh `r<UTC time>` (the repository's tags are immutable), the deploy uses the digest.
3. `terraform apply -var image_digest=<digest>` on the synthesized stack. On the first
   release this creates the task definition and the service (see docs/architecture.md).
4. Poll `DescribeServices` until the deployment of the new task definition is COMPLETED
   (steady state) or the circuit breaker rolled it back; say what it waits for every poll.
5. Write the digest that runs to Parameter Store (`/<project>/<env>/release/image-digest`,
   which every later plan reads: deploy.release_record) and into `[service] image_digest` of
   config/<env>.toml.

The first release of an environment (no `ecr_repository_url` output yet) first applies the
stack without a digest (`-var allow_no_service=true` for a protected stack): everything but the
task definition, service and scaling.

Terraform runs with no kill timer; Ctrl-C sends it SIGINT and waits for it to save its state
and release the lock (deploy.terraform). Failures are one line, never a traceback.

`--registry HOST:PORT` pushes to another registry than the ECR host (tests use a local
`docker-registry`); AWS calls follow `AWS_ENDPOINT_URL` (the emulator in tests).
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from deploy.synthesis import ROOT, synthesize
from deploy.release_record import record_release
from deploy.terraform import TerraformFailed, cli_environment, failure_message, interrupt_running, terraform
from stacks.config_loader import config_dir, load_environment
from stacks.validation import IMAGE_DIGEST

Say = Callable[[str], None]
OCI_ARCHITECTURE = {"ARM64": "arm64", "X86_64": "amd64"}
LIVENESS_SECONDS = 10  # at most this long between two lines while waiting


def _digest_variable() -> str:
    # Imported late: stacks.variables loads cdktf/jsii (seconds), which `python -m localdev down` skips.
    from stacks.variables import IMAGE_DIGEST_VARIABLE

    return IMAGE_DIGEST_VARIABLE


class ReleaseFailed(Exception):
    """A release that did not reach steady state; the message says why (no traceback)."""


@dataclass(frozen=True)
class ReleaseOptions:
    environment: str
    digest: Optional[str] = None  # deploy this already-pushed digest instead of building
    # Build this Dockerfile from this context instead of app/Dockerfile from the repository root.
    dockerfile: Optional[Path] = None
    context: Optional[Path] = None
    registry: Optional[str] = None  # push here instead of the ECR host (HOST:PORT)
    tls_verify: bool = True
    work_dir: Path = ROOT / ".build" / "release"
    # An already synthesized and initialised stack directory; else synthesize + init here.
    stack_dir: Optional[Path] = None
    backend_config: Sequence[str] = field(default_factory=tuple)  # extra `terraform init` flags
    env: dict[str, str] = field(default_factory=dict)  # extra environment for terraform/AWS
    timeout_seconds: float = 1800  # waiting for steady state (polling only: no process is killed)
    poll_seconds: float = 5
    # Write the digest that runs into `[service] image_digest` of config/<env>.toml, so a plain
    # `cdktf deploy` / `terraform apply` of a new synth keeps the image (commit the file).
    record: bool = True


@dataclass(frozen=True)
class ReleaseResult:
    digest: str
    previous_digest: Optional[str]
    image: str  # <repository_url>@<digest>, as the task definition names it
    url: str


def release(options: ReleaseOptions, *, say: Say = print, build: Optional[Callable] = None,
            buildah_command: Optional[Callable[..., list[str]]] = None,
            on_pushed: Optional[Callable[[str, str], None]] = None) -> ReleaseResult:
    """One release; raises ReleaseFailed with a one-line reason. `build`/`buildah_command`
    default to `deploy.image` (the same image store `make image` uses). `on_pushed(repository,
    digest)` runs after a push, before the deploy (the test tells the emulator's ECR API there)."""
    if options.digest and (options.dockerfile or options.context):
        raise ReleaseFailed("--digest deploys an already-pushed image: it takes no --dockerfile or --context")
    other_image = _other_image(options)  # checked before anything is synthesized or built
    settings = load_environment(options.environment)
    names = settings.names
    env = cli_environment(options.work_dir, options.env)
    log = options.work_dir / "terraform.log"
    stack = _prepare_stack(options, settings.stack_name, env, log, say)
    aws = _aws_clients(env, settings.region)

    repository_url = _output(stack, env, log, "ecr_repository_url")
    if repository_url is None:
        say("  first deploy: applying the stack without a service, so the image repository exists")
        _apply(stack, env, log, "", say, "-var", f"{_allow_no_service_variable()}=true")
        repository_url = _output(stack, env, log, "ecr_repository_url")
    host, repository = repository_url.split("/", 1)
    registry = options.registry or host
    credentials = _registry_credentials(aws("ecr"))
    previous = _deployed_digest(aws("ecs"), names.ecs_cluster, names.ecs_service)

    if options.digest:
        digest = options.digest
        if not IMAGE_DIGEST.match(digest):
            raise ReleaseFailed(f"--digest {digest!r} is not sha256: and 64 lowercase hex digits")
        if not _registry_has(registry, repository, digest, credentials, options.tls_verify):
            raise ReleaseFailed(f"{digest} is not in {registry}/{repository}: nothing was deployed "
                                "(list the pushed digests: aws ecr describe-images --repository-name "
                                f"{repository})")
        say(f"  deploying the already-pushed {digest} (no build)")
    else:
        if build is None or buildah_command is None:
            from deploy import image

            build, buildah_command = build or image.build_image, buildah_command or image.buildah_command
        architecture = OCI_ARCHITECTURE[settings.service.cpu_architecture]
        say(f"  building the image for {architecture} ({settings.service.cpu_architecture} tasks)")
        built = build(architecture, say=say, **other_image)
        digest = _push(built.name, f"{registry}/{repository}", credentials, options.tls_verify,
                       buildah_command, say)
        if on_pushed is not None:
            on_pushed(repository, digest)

    image = f"{repository_url}@{digest}"
    say(f"  terraform apply -var {_digest_variable()}={digest}  (previous: {previous or 'none'})")
    _apply(stack, env, log, digest, say)
    try:
        _wait_for_steady_state(aws("ecs"), names.ecs_cluster, names.ecs_service, digest, previous, options, say)
    finally:
        running = _deployed_digest(aws("ecs"), names.ecs_cluster, names.ecs_service)
        if running:  # what runs, also after a rollback: every later plan keeps it
            say(f"  recorded {running} in Parameter Store {record_release(aws('ssm'), settings.parameter_prefix, running)}")
        if options.record and running:
            say(f"  recorded {running} in {record_digest(options.environment, running)} (commit it)")
    url = _output(stack, env, log, "application_url") or "(no application_url output)"
    say(f"  released {image}\n  {url}")
    return ReleaseResult(digest=digest, previous_digest=previous, image=image, url=url)


def _other_image(options: ReleaseOptions) -> dict[str, Path]:
    """`dockerfile`/`context` keyword arguments of the build, checked; none for the service's image."""
    if options.dockerfile is None and options.context is None:
        return {}
    dockerfile = (options.dockerfile or ROOT / "app" / "Dockerfile").resolve()
    context = (options.context or ROOT).resolve()
    if not dockerfile.is_file():
        raise ReleaseFailed(f"--dockerfile {options.dockerfile}: no such file")
    if not context.is_dir():
        raise ReleaseFailed(f"--context {options.context}: no such directory")
    return {"dockerfile": dockerfile, "context": context}


def record_digest(environment: str, digest: str, directory: Optional[Path] = None) -> Path:
    """Set `image_digest` in the `[service]` table of `<config>/<environment>.toml`; returns the file."""
    path = Path(directory or config_dir()) / f"{environment}.toml"
    text = path.read_text() if path.exists() else ""
    line = f'image_digest = "{digest}"  # set by make release: the image that runs'
    if re.search(r"(?m)^image_digest\s*=.*$", text):
        text = re.sub(r"(?m)^image_digest\s*=.*$", line, text)
    elif re.search(r"(?m)^\[service\][ \t]*$", text):
        text = re.sub(r"(?m)^\[service\][ \t]*$", f"[service]\n{line}", text, count=1)
    else:
        text = text.rstrip("\n") + f"\n\n[service]\n{line}\n"
    path.write_text(text)
    load_environment(environment, path.parent)  # still valid settings
    return path


# ------------------------------------------------------------------ terraform
def _prepare_stack(options: ReleaseOptions, stack_name: str, env: dict[str, str], log: Path, say: Say) -> Path:
    options.work_dir.mkdir(parents=True, exist_ok=True)
    if options.stack_dir is not None:
        return options.stack_dir
    outdir = options.work_dir / "cdktf.out"
    say(f"  synthesizing {stack_name}")
    result = synthesize(outdir)
    if result.returncode != 0:
        raise ReleaseFailed(f"synthesis failed: {result.stderr.strip()[-1000:]}")
    stack = outdir / "stacks" / stack_name
    _terraform(stack, env, log, "init", "-input=false", "-reconfigure", *options.backend_config)
    return stack


def _terraform(stack: Path, env: dict[str, str], log: Path, *args: str) -> str:
    try:
        result = terraform(stack, env, *args, log=log)
    except TerraformFailed as failure:
        raise ReleaseFailed(f"{failure} (log: {log})") from None
    if result.returncode != 0:
        raise ReleaseFailed(f"terraform {args[0]}: {failure_message(result, stack)} (log: {log})")
    return result.stdout


def _allow_no_service_variable() -> str:
    from stacks.variables import ALLOW_NO_SERVICE_VARIABLE  # late, as _digest_variable

    return ALLOW_NO_SERVICE_VARIABLE


def _apply(stack: Path, env: dict[str, str], log: Path, digest: str, say: Say, *extra: str) -> None:
    variable, shown = _digest_variable(), digest or '""'
    _saying(say, f"terraform apply ({variable}={shown})", lambda: _terraform(
        stack, env, log, "apply", "-input=false", "-auto-approve", "-var", f"{variable}={digest}", *extra))


def _saying(say: Say, what: str, action: Callable[[], Any]) -> Any:
    """Run `action`, saying every LIVENESS_SECONDS that it still runs (pushes and applies take minutes)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = action()
        except BaseException as error:  # re-raised in the caller's thread
            outcome["error"] = error

    worker = threading.Thread(target=target, daemon=True)
    started = time.monotonic()
    worker.start()
    interrupted = False
    while worker.is_alive():
        try:
            worker.join(LIVENESS_SECONDS)
            if worker.is_alive():
                say(f"  ... {time.monotonic() - started:.0f}s: waiting for {what}"
                    + (" to stop after the interrupt" if interrupted else ""))
        except KeyboardInterrupt:  # the main thread gets Ctrl-C; terraform runs in the worker
            if not interrupted:
                interrupted = True
                interrupt_running()
                say(f"  interrupted: sent SIGINT to {what}; waiting for it to save the state and "
                    "release the lock (do not kill it)")
    if interrupted:
        error = outcome.get("error")
        raise ReleaseFailed(f"interrupted during {what}: " + (str(error) if error else "it finished first")
                            + ". Run the same release again to finish; a state lock left behind (\"Error "
                            "acquiring the state lock\") is released with `terraform force-unlock <ID>` in "
                            "the stack's folder, only when no terraform runs")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _output(stack: Path, env: dict[str, str], log: Path, name: str) -> Optional[str]:
    outputs = json.loads(_terraform(stack, env, log, "output", "-json") or "{}")
    value = outputs.get(name, {}).get("value")
    return str(value) if value else None


# ------------------------------------------------------------------- registry
def _aws_clients(env: dict[str, str], region: str) -> Callable[[str], Any]:
    import boto3

    session = boto3.session.Session(region_name=region, aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
                                    aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
                                    aws_session_token=env.get("AWS_SESSION_TOKEN"),
                                    profile_name=None if env.get("AWS_ACCESS_KEY_ID") else env.get("AWS_PROFILE"))
    endpoint = env.get("AWS_ENDPOINT_URL")
    return lambda service: session.client(service, endpoint_url=endpoint)


def _registry_credentials(ecr) -> str:
    """`AWS:<password>` from ecr:GetAuthorizationToken (valid 12 hours)."""
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    return base64.b64decode(token).decode()


def _tls(tls_verify: bool) -> str:
    return f"--tls-verify={'true' if tls_verify else 'false'}"


def _push(local_name: str, destination: str, credentials: str, tls_verify: bool,
          buildah_command: Callable[..., list[str]], say: Say) -> str:
    tag = datetime.now(timezone.utc).strftime("r%Y%m%dT%H%M%SZ")  # immutable tags: a new one each push
    with tempfile.TemporaryDirectory() as scratch:
        digest_file = Path(scratch) / "digest"
        say(f"  pushing {local_name} to {destination}:{tag}")
        command = buildah_command("push", "--creds", credentials, _tls(tls_verify), "--digestfile",
                                  str(digest_file), local_name, f"docker://{destination}:{tag}")
        result = _saying(say, f"the push to {destination}", lambda: subprocess.run(
            command, capture_output=True, text=True, timeout=1800))
        if result.returncode != 0:
            raise ReleaseFailed(f"push to {destination} failed: {result.stderr.strip()[-600:]}")
        digest = digest_file.read_text().strip()
    if not IMAGE_DIGEST.match(digest):
        raise ReleaseFailed(f"the push reported no digest ({digest!r})")
    say(f"  pushed {destination}@{digest}")
    return digest


def _registry_has(registry: str, repository: str, digest: str, credentials: str, tls_verify: bool) -> bool:
    result = subprocess.run(["skopeo", "inspect", "--raw", "--creds", credentials, _tls(tls_verify),
                             f"docker://{registry}/{repository}@{digest}"], capture_output=True, timeout=300)
    return result.returncode == 0


# ------------------------------------------------------------------------ ECS
_DIGEST_IN_IMAGE = re.compile(r"@(sha256:[0-9a-f]{64})$")


def _digest_of(ecs, task_definition: str) -> Optional[str]:
    containers = ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]["containerDefinitions"]
    match = _DIGEST_IN_IMAGE.search(containers[0]["image"])
    return match.group(1) if match else None


def _describe(ecs, cluster: str, service: str) -> Optional[dict]:
    services = ecs.describe_services(cluster=cluster, services=[service])["services"]
    return services[0] if services and services[0]["status"] == "ACTIVE" else None


def _deployed_digest(ecs, cluster: str, service: str) -> Optional[str]:
    """Digest of the running PRIMARY deployment; None before the first release."""
    try:
        described = _describe(ecs, cluster, service)
    except ecs.exceptions.ClusterNotFoundException:
        return None
    if described is None:
        return None
    primary = next(d for d in described["deployments"] if d["status"] == "PRIMARY")
    return _digest_of(ecs, primary["taskDefinition"])


def _wait_for_steady_state(ecs, cluster: str, service: str, digest: str, previous: Optional[str],
                           options: ReleaseOptions, say: Say) -> None:
    started = time.monotonic()
    ours: Optional[str] = None  # the deployment id of this release
    while True:
        elapsed = time.monotonic() - started
        described = _describe(ecs, cluster, service)
        if described is None:
            raise ReleaseFailed(f"service {service} does not exist after the apply")
        deployments = described["deployments"]
        if ours is None:
            mine = [d for d in deployments if _digest_of(ecs, d["taskDefinition"]) == digest]
            ours = mine[0]["id"] if mine else None
        deployment = next((d for d in deployments if d["id"] == ours), None)
        primary = next(d for d in deployments if d["status"] == "PRIMARY")
        if deployment is not None and deployment.get("rolloutState") == "FAILED" or (
                ours is not None and deployment is None and primary["id"] != ours):
            back_to = _digest_of(ecs, primary["taskDefinition"]) if primary["id"] != ours else None
            reason = (deployment or {}).get("rolloutStateReason") or _last_event(described)
            raise ReleaseFailed(f"release {digest} rolled back to {back_to or previous or 'nothing'}: {reason}"
                                if back_to else f"release {digest} failed (nothing to roll back to): {reason}")
        if (deployment is not None and deployment["status"] == "PRIMARY" and len(deployments) == 1
                and deployment.get("rolloutState") == "COMPLETED"):
            say(f"  steady state after {elapsed:.0f}s: {deployment['runningCount']}/{deployment['desiredCount']} "
                f"tasks of {digest}")
            return
        if elapsed > options.timeout_seconds:
            raise ReleaseFailed(f"release {digest}: no steady state after {elapsed:.0f}s "
                                f"(last event: {_last_event(described)})")
        state = (f"deployment {ours} {deployment.get('rolloutState')}, "
                 f"{deployment['runningCount']}/{deployment['desiredCount']} running" if deployment
                 else "the deployment of the new task definition to appear")
        say(f"  waiting {elapsed:.0f}s for steady state: {state}; {len(deployments)} deployment(s)")
        time.sleep(min(options.poll_seconds, LIVENESS_SECONDS))


def _last_event(described: dict) -> str:
    events = described.get("events") or []
    return events[0]["message"] if events else "no service events"


# ------------------------------------------------------------------------ CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", required=True, dest="environment", help="dev, staging or prod")
    parser.add_argument("--digest", help="deploy this already-pushed sha256:... digest (rollback); no build")
    parser.add_argument("--dockerfile", type=Path, help="build this Dockerfile instead of app/Dockerfile")
    parser.add_argument("--context", type=Path, help="its build context (default: the repository root)")
    parser.add_argument("--registry", help="push to HOST:PORT instead of the ECR host (tests)")
    parser.add_argument("--no-tls-verify", action="store_true", help="plain-HTTP registry (tests)")
    parser.add_argument("--no-record", action="store_true",
                        help="do not write the running digest into config/<env>.toml")
    parser.add_argument("--work-dir", type=Path, help="synthesis and logs (default .build/release/<env>)")
    parser.add_argument("--backend-config", action="append", default=[],
                        help="extra `terraform init -backend-config=...` value (repeatable)")


def run(args: argparse.Namespace, *, say: Say = print) -> int:
    options = ReleaseOptions(
        environment=args.environment, digest=args.digest, registry=args.registry,
        dockerfile=args.dockerfile, context=args.context,
        tls_verify=not args.no_tls_verify, work_dir=args.work_dir or ROOT / ".build" / "release" / args.environment,
        record=not args.no_record, backend_config=tuple(f"-backend-config={value}" for value in args.backend_config))
    try:
        release(options, say=say)
    except ReleaseFailed as failure:
        say(f"RELEASE FAILED: {failure}")
        return 1
    except KeyboardInterrupt:  # while polling ECS: no terraform runs then
        say("RELEASE INTERRUPTED while waiting for steady state: the apply had finished; ECS goes on "
            "rolling out (`make release ENV=... DIGEST=...` again to wait or roll back)")
        return 130
    return 0
