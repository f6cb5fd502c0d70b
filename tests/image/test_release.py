"""`make release` end to end: a real registry (Debian's docker-registry), the emulator for ECR/ECS.

The first apply of session-dev (no digest) makes the repository and everything but the
service; the releases then push with buildah, apply with the digest and wait for steady
state. The registry stands in for ECR's storage side, the emulator for its API: after each
push the test puts the pushed manifest into the emulator's ECR (`on_pushed`), as ECR's API
would see it. A push the emulator is NOT told about is an image tasks cannot pull: the
deployment fails and the circuit breaker rolls back (emulator fill `ecs_deployments`).

Image: the real service image from `deploy.image` (fixture `service_image`, built once per
session for the task definition's architecture).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import boto3
import pytest

from emulator import start_emulator
from emulator.process import free_port
from deploy.image import BuiltImage, buildah_command
from deploy.release import ReleaseFailed, ReleaseOptions, release
from deploy.synthesis import ROOT, synthesize
from deploy.release_record import released_digest
from deploy.stack_deploy import bootstrap_and_apply
from deploy.terraform import cli_environment, terraform
from stacks.config_loader import load_environment

MANIFEST_TYPES = ", ".join(["application/vnd.oci.image.manifest.v1+json",
                            "application/vnd.docker.distribution.manifest.v2+json"])


def _run(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{command}: {result.stderr[-2000:]}"
    return result.stdout.strip()


@pytest.fixture(scope="module")
def buildah() -> Callable[..., list[str]]:
    return buildah_command


@pytest.fixture(scope="module")
def release_base_image(service_image) -> BuiltImage:
    """The real service image, built once per session (tests/image/conftest.py)."""
    return service_image


def _variant(buildah, base: BuiltImage, n: int) -> BuiltImage:
    """The base image plus a label: a different digest per release, as a new build would give."""
    container = _run(buildah("from", "--pull-never", base.name))
    try:
        _run(buildah("config", "--label", f"org.session-app.release-test={n}-{time.time()}", container))
        name = f"localhost/release-test:{n}"
        image_id = _run(buildah("commit", "--quiet", container, name))
    finally:
        subprocess.run(buildah("rm", container), capture_output=True)
    return BuiltImage(name, base.architecture, image_id)


@dataclass
class Registry:
    url: str  # http://127.0.0.1:PORT
    host: str  # 127.0.0.1:PORT

    def manifest_digest(self, repository: str, reference: str) -> str:
        request = urllib.request.Request(f"{self.url}/v2/{repository}/manifests/{reference}",
                                         headers={"Accept": MANIFEST_TYPES}, method="HEAD")
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.headers["Docker-Content-Digest"]

    def manifest(self, repository: str, digest: str) -> tuple[bytes, str]:
        request = urllib.request.Request(f"{self.url}/v2/{repository}/manifests/{digest}",
                                         headers={"Accept": MANIFEST_TYPES})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read(), response.headers["Content-Type"]

    def tags(self, repository: str) -> list[str]:
        with urllib.request.urlopen(f"{self.url}/v2/{repository}/tags/list", timeout=10) as response:
            return json.load(response)["tags"] or []


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """Debian's docker-registry on a free loopback port, filesystem storage in tmp; stopped by PID."""
    where = tmp_path_factory.mktemp("registry")
    port = free_port()
    config = where / "config.yml"
    config.write_text(f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {where / 'data'}\n"
                      f"  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n")
    with (where / "registry.log").open("w") as log:
        process = subprocess.Popen(["/usr/bin/docker-registry", "serve", str(config)], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/v2/", timeout=2):
                    break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, (where / "registry.log").read_text()
                time.sleep(0.2)
        yield Registry(url, f"127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class Deployed:
    stack: Path
    env: dict[str, str]
    emulator_url: str
    backend_flags: list[str]
    work: Path

    def client(self, service: str):
        return boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                     region_name=self.env["AWS_REGION"]).client(service, endpoint_url=self.emulator_url)


@pytest.fixture(scope="module")
def first_apply(tmp_path_factory):
    """Bootstrap + apply session-dev to the emulator the way localdev.aws_cycle does, with NO digest."""
    work = tmp_path_factory.mktemp("release")
    result = synthesize(work / "cdktf.out")
    assert result.returncode == 0, result.stderr[-3000:]
    emulator = start_emulator(port=None, log_path=work / "emulator.log")
    try:
        env = cli_environment(work, emulator.env())
        env.pop("TF_VAR_image_digest", None)
        settings = load_environment("dev")
        stack = bootstrap_and_apply(work / "cdktf.out" / "stacks", settings.stack_name, env, work / "terraform.log",
                                    backend_args=emulator.s3_backend_args())
        yield Deployed(stack, env, emulator.url, emulator.s3_backend_args(), work)
    finally:
        emulator.stop()


def _container_image(deployed: Deployed) -> str:
    names = load_environment("dev").names
    ecs = deployed.client("ecs")
    (service,) = ecs.describe_services(cluster=names.ecs_cluster, services=[names.ecs_service])["services"]
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    return definition["containerDefinitions"][0]["image"]


def test_first_apply_creates_the_repository_but_no_service(first_apply):
    names = load_environment("dev").names
    ecr, ecs = first_apply.client("ecr"), first_apply.client("ecs")
    assert ecr.describe_repositories(repositoryNames=[names.image_repository])["repositories"]
    described = ecs.describe_services(cluster=names.ecs_cluster, services=[names.ecs_service])
    assert described["services"] == [], described
    assert ecs.list_task_definitions(familyPrefix=names.task_family)["taskDefinitionArns"] == []
    assert first_apply.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs")["ScalableTargets"] == []


def test_release_push_deploy_fail_rollback(first_apply, registry, release_base_image, buildah, monkeypatch,
                                           tmp_path):
    """Release A (first: creates the service), B (unpullable: rolled back to A), a never-pushed
    digest (refused), C, then `--digest A` through the CLI (rollback without a build)."""
    ecr = first_apply.client("ecr")
    lines: list[str] = []
    config = tmp_path / "config"  # the release records the running digest here, not in config/
    shutil.copytree(ROOT / "config", config)
    monkeypatch.setenv("SESSION_CONFIG_DIR", str(config))

    def say(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    def tell_ecr(repository: str, digest: str) -> None:
        manifest, media_type = registry.manifest(repository, digest)
        ecr.put_image(repositoryName=repository, imageManifest=manifest.decode(), imageManifestMediaType=media_type,
                      imageDigest=digest)

    variants = iter(_variant(buildah, release_base_image, n) for n in range(1, 4))

    def build(architecture: str, *, say=print) -> BuiltImage:
        assert architecture == "arm64"  # dev runs ARM64 tasks
        return next(variants)

    options = ReleaseOptions(environment="dev", registry=registry.host, tls_verify=False, work_dir=first_apply.work,
                             stack_dir=first_apply.stack, env={k: v for k, v in first_apply.env.items()},
                             poll_seconds=1, timeout_seconds=120)

    def ship(**kwargs):
        return release(options, say=say, build=build, buildah_command=buildah, **kwargs)

    # A: the first release creates the service with the pushed digest.
    a = ship(on_pushed=tell_ecr)
    repository = a.image.split("/", 1)[1].split("@")[0]
    assert a.previous_digest is None
    assert ".dkr.ecr." in a.image.split("@")[0]  # the task definition names the ECR repository
    assert any(registry.manifest_digest(repository, tag) == a.digest for tag in registry.tags(repository))
    assert _container_image(first_apply) == a.image
    assert a.url.startswith("http")
    assert load_environment("dev", config).service.image_digest == a.digest  # recorded

    # B: pushed, but tasks cannot pull it: the circuit breaker rolls back to A.
    with pytest.raises(ReleaseFailed) as failure:
        ship()
    say(f"RELEASE FAILED (expected): {failure.value}")
    b_digest = next(line.split("@")[-1] for line in reversed(lines) if line.startswith("  pushed "))
    assert f"release {b_digest} rolled back to {a.digest}" in str(failure.value)
    assert "CannotPullContainerError" in str(failure.value)
    assert _container_image(first_apply) == a.image

    # A digest nobody pushed is refused before anything is applied.
    never = "sha256:" + "e" * 64
    with pytest.raises(ReleaseFailed, match=f"{never} is not in {registry.host}/{repository}"):
        release(dataclasses.replace(options, digest=never), say=say)
    assert _container_image(first_apply) == a.image

    # C: a good release after the failed one.
    c = ship(on_pushed=tell_ecr)
    assert c.previous_digest == a.digest and c.digest not in (a.digest, b_digest)
    assert _container_image(first_apply) == c.image
    assert load_environment("dev", config).service.image_digest == c.digest
    # ... and in Parameter Store, where every later plan reads it (a clean clone keeps C).
    assert released_digest(first_apply.client("ssm"), load_environment("dev").parameter_prefix) == c.digest

    # Rollback to A with the documented CLI (no build), in a fresh process with its own synth/init.
    cli = subprocess.run(
        [sys.executable, "-m", "deploy", "release", "--env", "dev", "--digest", a.digest,
         "--registry", registry.host, "--no-tls-verify", "--work-dir", str(first_apply.work / "cli"),
         *[f"--backend-config={flag.split('=', 1)[1]}" for flag in first_apply.backend_flags]],
        cwd=ROOT, env={**os.environ, **{k: v for k, v in first_apply.env.items() if k.startswith("AWS_")}},
        capture_output=True, text=True, timeout=900)
    assert cli.returncode == 0, cli.stdout[-3000:] + cli.stderr[-3000:]
    assert f"released {a.image}" in cli.stdout
    assert _container_image(first_apply) == a.image
    assert load_environment("dev", config).service.image_digest == a.digest
