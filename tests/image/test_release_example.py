"""`make release DOCKERFILE=examples/flask/Dockerfile CONTEXT=.` end to end: the stack runs
another image than the session service's, with the container contract from `[service]`.

As tests/image/test_release.py does for the service (and with its registry and first-apply
fixtures): Debian's docker-registry stands in for ECR's storage, the emulator for the AWS
APIs. `session-dev` is configured for the example (a copy of config/ via SESSION_CONFIG_DIR):
`container_port = 8000`, a Python health check command on `{port}{path}`, an extra
environment value. The example is built with buildah from the repository root, pushed by
digest, applied, and the emulator's task definition and target group must be what the
settings say.

Architecture: `cpu_architecture = "X86_64"` here, so the image is built for amd64, this
host's architecture. ARM64 goes through the same code (the service's image is built so in
tests/image), but every build step runs under qemu: the service's cold build took 246 s for
arm64 against 67 s for amd64 here (docs/benchmarks.md), and nothing this test checks depends
on the architecture. The example was not timed for arm64.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from deploy.image import image_config
from deploy.release import ReleaseFailed, ReleaseOptions, release
from deploy.synthesis import ROOT
from stacks.config_loader import CONFIG_DIR_VARIABLE, load_environment
from tests.image.test_release import first_apply, registry  # noqa: F401  (fixtures)

DOCKERFILE = ROOT / "examples" / "flask" / "Dockerfile"
PORT = 8000
HEALTH_CHECK = ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:{port}{path}', timeout=3)"]
# Keys added to dev's [service] table (JSON strings and lists are TOML too).
EXAMPLE_SERVICE = {"cpu_architecture": "X86_64", "container_port": PORT, "health_check_path": "/healthz",
                   "health_check_command": HEALTH_CHECK, "stop_timeout_seconds": 25}


@pytest.fixture(scope="module", autouse=True)
def example_config(tmp_path_factory):
    """config/ with dev set up for the example; in place before the first apply synthesizes."""
    config = tmp_path_factory.mktemp("example-config") / "config"
    shutil.copytree(ROOT / "config", config)
    dev = config / "dev.toml"
    keys = "".join(f"{key} = {json.dumps(value)}\n" for key, value in EXAMPLE_SERVICE.items())
    text = dev.read_text()
    assert "\n[service]\n" in text
    dev.write_text(text.replace("\n[service]\n", f"\n[service]\n{keys}", 1)
                   + '\n[service.environment]\nEXAMPLE_GREETING = "hello"\n')
    before = os.environ.get(CONFIG_DIR_VARIABLE)
    os.environ[CONFIG_DIR_VARIABLE] = str(config)
    try:
        service = load_environment("dev").service
        assert (service.container_port, service.cpu_architecture) == (PORT, "X86_64")
        yield config
    finally:
        if before is None:
            os.environ.pop(CONFIG_DIR_VARIABLE, None)
        else:
            os.environ[CONFIG_DIR_VARIABLE] = before


def test_release_builds_pushes_and_deploys_the_example_by_digest(example_config, first_apply, registry):
    settings = load_environment("dev")
    names = settings.names
    ecr, ecs, elb = first_apply.client("ecr"), first_apply.client("ecs"), first_apply.client("elbv2")

    def tell_ecr(repository: str, digest: str) -> None:
        manifest, media_type = registry.manifest(repository, digest)
        ecr.put_image(repositoryName=repository, imageManifest=manifest.decode(), imageManifestMediaType=media_type,
                      imageDigest=digest)

    options = ReleaseOptions(environment="dev", dockerfile=DOCKERFILE, context=ROOT, registry=registry.host,
                             tls_verify=False, work_dir=first_apply.work, stack_dir=first_apply.stack,
                             env=dict(first_apply.env), poll_seconds=1, timeout_seconds=300)
    result = release(options, say=lambda line: print(line, flush=True), on_pushed=tell_ecr)

    # The registry holds exactly the pushed digest, and the emulator's task definition names it.
    repository = result.image.split("/", 1)[1].split("@")[0]
    assert any(registry.manifest_digest(repository, tag) == result.digest for tag in registry.tags(repository))
    (service,) = ecs.describe_services(cluster=names.ecs_cluster, services=[names.ecs_service])["services"]
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    (container,) = definition["containerDefinitions"]
    assert container["image"] == result.image and result.image.endswith(f"@{result.digest}")
    assert definition["runtimePlatform"]["cpuArchitecture"] == "X86_64"

    # The contract from [service]: port, health check on {port}{path}, stop timeout, environment.
    assert [m["containerPort"] for m in container["portMappings"]] == [PORT]
    assert container["healthCheck"]["command"] == [
        "CMD", "python", "-c", f"import urllib.request as u; u.urlopen('http://127.0.0.1:{PORT}/healthz', timeout=3)"]
    assert container["stopTimeout"] == 25 and "command" not in container  # the image's own CMD
    environment = {e["name"]: e["value"] for e in container["environment"]}
    assert environment["EXAMPLE_GREETING"] == "hello" and environment["SESSION_HTTP_PORT"] == str(PORT)
    assert {s["name"] for s in container["secrets"]} >= {"SESSION_STORE_ENDPOINT", "SESSION_STORE_AUTH"}
    (group,) = elb.describe_target_groups(Names=[names.target_group])["TargetGroups"]
    assert (group["Port"], group["HealthCheckPath"]) == (PORT, "/healthz")
    assert service["loadBalancers"][0]["containerPort"] == PORT

    # What was built is the example (gunicorn on 8000 as a non-root user), not the service.
    built = image_config("localhost/flask:amd64")
    assert built["Cmd"][0] == "gunicorn" and "0.0.0.0:8000" in built["Cmd"]
    assert built["User"] == "10001:10001" and "8000/tcp" in built.get("ExposedPorts", {})
    assert load_environment("dev").service.image_digest == result.digest  # recorded in the config copy


def test_the_cli_refuses_a_missing_dockerfile_before_anything_is_built(tmp_path):
    cli = subprocess.run(
        [sys.executable, "-m", "deploy", "release", "--env", "dev", "--dockerfile", "examples/nope/Dockerfile",
         "--context", ".", "--no-record", "--work-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert cli.returncode == 1, cli.stdout[-3000:] + cli.stderr[-3000:]
    assert "RELEASE FAILED: --dockerfile examples/nope/Dockerfile: no such file" in cli.stdout
    assert "Traceback" not in cli.stderr and not (tmp_path / "cdktf.out").exists()


def test_a_digest_release_takes_no_dockerfile(tmp_path):
    with pytest.raises(ReleaseFailed, match="takes no --dockerfile"):
        release(ReleaseOptions(environment="dev", digest="sha256:" + "a" * 64, dockerfile=DOCKERFILE,
                               work_dir=tmp_path), say=print)
