"""Build the session service's image from `app/Dockerfile` with buildah (no daemon).

    build_image("arm64") -> BuiltImage(name="localhost/session-app:arm64", architecture="arm64", image_id=...)
    buildah_command("images") -> ["buildah", "--storage-driver", "vfs", "--root", ..., "images"]

    python -m deploy.image [--arch arm64|amd64] [--env dev]     # what `make image` runs

Every call goes through `buildah_command`, so builds, tests and releases share one image
store inside the project (`.build/containers`): CI and tests need nothing outside it.
The build runs as root with `--isolation chroot` (no daemon, no user namespaces) and the
`overlay` storage driver, or `vfs` where overlayfs cannot be mounted (see `storage_driver`).

The base is the Dockerfile's default, `python:3.11-slim-bookworm`, pulled from Docker Hub
when a registry answers. Where none does (these machines reach package registries only), a
stand-in with the same shape is made from Debian packages: `debootstrap --variant=minbase
bookworm` with Debian's Python 3.11, `python` and `pip` on PATH, and pip allowed to install
into the system Python as in the official image (Debian's PEP 668 marker removed). It is
passed through the Dockerfile's `PYTHON_IMAGE` argument; the Dockerfile is the same file
users build with docker/buildx. The stand-in is kept in the store under a name that
carries a hash of its recipe, so later builds skip it.

Foreign architectures (arm64 on an x86 host) run through qemu-user-static: binfmt_misc is
mounted if needed and qemu's entry registered with the F flag (the kernel opens the
interpreter at registration, so it works inside chroots).

If the host's pip is told to trust a CA bundle (a TLS-inspecting egress proxy, as on these
machines), the build's RUN steps see that bundle in place of the base's, read-only; no
layer keeps it.
"""

from __future__ import annotations

import argparse
import configparser
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / ".build"
STORE = BUILD_DIR / "containers"
WORK = BUILD_DIR / "image"
DOCKERFILE = ROOT / "app" / "Dockerfile"
IGNOREFILE = ROOT / "app" / "Dockerfile.dockerignore"

IMAGE_REPOSITORY = "localhost/session-app"
OFFICIAL_BASE = "docker.io/library/python:3.11-slim-bookworm"
STANDIN_REPOSITORY = "localhost/session-app-python"
ARCHITECTURES = ("arm64", "amd64")
# ECS `runtimePlatform.cpuArchitecture` -> OCI architecture name.
ECS_TO_OCI = {"ARM64": "arm64", "X86_64": "amd64"}
_QEMU = {"arm64": "aarch64", "amd64": "x86_64"}
_HOST = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}

# The stand-in base: what python:3.11-slim-bookworm holds that the Dockerfile relies on.
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
STANDIN_PACKAGES = ("python3", "python3-venv", "python3-pip", "ca-certificates", "netbase", "tzdata")
_STANDIN_RECIPE_VERSION = "2"  # bump when _shape_like_official changes
PULL_TIMEOUT_SECONDS = 120

Say = Callable[[str], None]


@dataclass(frozen=True)
class BuiltImage:
    name: str  # buildah local image name, e.g. "localhost/session-app:arm64"
    architecture: str  # OCI name: "arm64" | "amd64"
    image_id: str  # sha256 hex of the image configuration


class ImageBuildError(RuntimeError):
    """A step of the build failed; the message names the step and shows its output."""


def buildah_command(*args: str) -> list[str]:
    """`buildah` with the project's global flags: one storage driver, store under `.build/containers`."""
    driver = storage_driver()
    return ["buildah", "--storage-driver", driver, "--root", str(STORE / f"storage-{driver}"),
            "--runroot", str(STORE / f"run-{driver}"), *args]


def storage_driver() -> str:
    """`overlay` where this host can mount overlayfs on the store's file system, else `vfs`.

    Decided once per store (kept in `.build/containers/driver`) so every caller opens the
    same store; SESSION_BUILDAH_DRIVER overrides it. vfs works everywhere but copies the
    whole root file system for every build step: an arm64 build took 254 s with vfs and
    64 s with overlay here, a fully cached one 155 s and a few seconds.
    """
    if os.environ.get("SESSION_BUILDAH_DRIVER"):
        return os.environ["SESSION_BUILDAH_DRIVER"]
    marker = STORE / "driver"
    if marker.exists():
        return marker.read_text().strip()
    STORE.mkdir(parents=True, exist_ok=True)
    driver = "overlay" if _overlay_mounts(STORE) else "vfs"
    marker.write_text(driver + "\n")
    return driver


def _overlay_mounts(directory: Path) -> bool:
    probe = directory / f"overlay-probe-{uuid.uuid4().hex[:8]}"
    paths = {name: probe / name for name in ("lower", "upper", "work", "merged")}
    try:
        for path in paths.values():
            path.mkdir(parents=True)
        options = f"lowerdir={paths['lower']},upperdir={paths['upper']},workdir={paths['work']}"
        mounted = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(paths["merged"])],
                                 capture_output=True).returncode == 0
        if mounted:
            subprocess.run(["umount", str(paths["merged"])], capture_output=True)
        return mounted
    except OSError:
        return False
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def host_architecture() -> str:
    return _HOST.get(platform.machine(), platform.machine())


def default_architecture(environment: str = "dev") -> str:
    """The OCI architecture of `environment`'s task definition (`service.cpu_architecture`)."""
    from stacks.config_loader import load_environment

    return ECS_TO_OCI[load_environment(environment).service.cpu_architecture]


def build_image(architecture: str, *, say: Say = print, base: str | None = None,
                dockerfile: Path | None = None, context: Path | None = None) -> BuiltImage:
    """Build `app/Dockerfile` (or `dockerfile`, from `context`) for `architecture` from the repository root.

    `base` overrides the base image (a name or ID in the store); by default the official
    image is pulled and, when no registry answers, the Debian stand-in is used. Another
    Dockerfile gets it through the same `PYTHON_IMAGE` argument and `<Dockerfile>.dockerignore`
    when present (docs/container-contract.md).
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got {architecture!r}")
    _require_tools()
    ensure_emulation(architecture)
    base = base or official_base(architecture, say=say) or standin_base(architecture, say=say)
    dockerfile, context = (dockerfile or DOCKERFILE).resolve(), (context or ROOT).resolve()
    ignorefile = IGNOREFILE if dockerfile == DOCKERFILE else dockerfile.with_name(dockerfile.name + ".dockerignore")
    repository = IMAGE_REPOSITORY if dockerfile == DOCKERFILE else f"localhost/{dockerfile.parent.name.lower()}"
    name = f"{repository}:{architecture}"
    WORK.mkdir(parents=True, exist_ok=True)
    iidfile = WORK / f"iid-{architecture}-{uuid.uuid4().hex[:8]}"
    say(f"building {name} from {dockerfile} (context {context}, base {base})")
    started = time.monotonic()
    try:
        _run(buildah_command(
            "bud", "--layers", "--format", "docker", "--isolation", "chroot", "--pull=never",
            "--platform", f"linux/{architecture}", "--file", str(dockerfile),
            *(["--ignorefile", str(ignorefile)] if ignorefile.exists() else []),
            "--build-arg", f"PYTHON_IMAGE={base}", "--iidfile", str(iidfile), "--tag", name,
            *_trust_mounts(), str(context)), step=f"buildah bud ({architecture})", say=say, stream=True)
        image_id = iidfile.read_text().strip().removeprefix("sha256:")
    finally:
        iidfile.unlink(missing_ok=True)
    say(f"built {name} ({image_id[:12]}, {image_size(name) / 1e6:.0f} MB) in {time.monotonic() - started:.0f}s")
    return BuiltImage(name=name, architecture=architecture, image_id=image_id)


def image_size(image: str) -> int:
    """Uncompressed size in bytes of `image`: the sum of its layers (what `buildah images` shows)."""
    out = _run(buildah_command("inspect", "--type", "image", image), step="buildah inspect").stdout
    return sum(layer["size"] for layer in json.loads(json.loads(out)["Manifest"])["layers"])


def image_config(image: str) -> dict:
    """The image's OCI configuration (`config` of `buildah inspect`): Env, Entrypoint, User, ..."""
    out = _run(buildah_command("inspect", "--type", "image", image), step="buildah inspect").stdout
    return json.loads(out)["OCIv1"]["config"]


# ------------------------------------------------------------------------ emulation
BINFMT = Path("/proc/sys/fs/binfmt_misc")


def ensure_emulation(architecture: str) -> None:
    """Let this host run `architecture` binaries (also inside chroots), or raise why not."""
    if architecture == host_architecture():
        return
    qemu = _QEMU[architecture]
    entry = BINFMT / f"qemu-{qemu}"
    if not (BINFMT / "register").exists():
        _run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], step="mount binfmt_misc")
    if entry.exists():
        status = entry.read_text()
        if "flags:" in status and "F" in status.split("flags:", 1)[1].split("\n", 1)[0]:
            if not status.startswith("enabled"):
                entry.write_text("1")
            return
        entry.write_text("-1")  # registered without F: chroots could not find the interpreter
    rule = Path(f"/usr/lib/binfmt.d/qemu-{qemu}.conf")
    if not rule.exists():
        raise ImageBuildError(f"cannot build {architecture} here: {rule} is missing (install qemu-user-static)")
    line = rule.read_text().strip()
    name, _, flags = line.rpartition(":")
    (BINFMT / "register").write_text(f"{name}:{''.join(sorted(set(flags + 'F')))}")


# ------------------------------------------------------------------------ base images
def official_base(architecture: str, *, say: Say = print) -> str | None:
    """Pull python:3.11-slim-bookworm for `architecture`; its image ID, or None if no registry answers."""
    try:
        result = subprocess.run(
            buildah_command("pull", "--quiet", "--arch", architecture, "--os", "linux", OFFICIAL_BASE),
            capture_output=True, text=True, timeout=PULL_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        say(f"{OFFICIAL_BASE}: no answer in {PULL_TIMEOUT_SECONDS}s; using the Debian stand-in")
        return None
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        say(f"{OFFICIAL_BASE} cannot be pulled ({reason[:160]}); using the Debian stand-in")
        return None
    return result.stdout.strip().splitlines()[-1]


def standin_name(architecture: str) -> str:
    recipe = "\n".join([_STANDIN_RECIPE_VERSION, DEBIAN_SUITE, *STANDIN_PACKAGES])
    return f"{STANDIN_REPOSITORY}:3.11-{DEBIAN_SUITE}-{architecture}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"


def standin_base(architecture: str, *, say: Say = print) -> str:
    """The Debian stand-in for python:3.11-slim-bookworm, made once per recipe and architecture."""
    name = standin_name(architecture)
    if _image_exists(name):
        return name
    rootfs = WORK / f"rootfs-{architecture}"
    shutil.rmtree(rootfs, ignore_errors=True)
    rootfs.parent.mkdir(parents=True, exist_ok=True)
    say(f"making the stand-in base {name} with debootstrap ({DEBIAN_SUITE}, {architecture}; minutes, once)")
    started = time.monotonic()
    try:
        _run(["debootstrap", f"--arch={architecture}", "--variant=minbase",
              f"--include={','.join(STANDIN_PACKAGES)}", DEBIAN_SUITE, str(rootfs), DEBIAN_MIRROR],
             step=f"debootstrap ({architecture})", say=say)
        _shape_like_official(rootfs)
        container = _run(buildah_command("from", "--arch", architecture, "--os", "linux", "scratch"),
                         step="buildah from scratch").stdout.strip()
        try:
            mountpoint = _run(buildah_command("mount", container), step="buildah mount").stdout.strip()
            _run(["cp", "-a", f"{rootfs}/.", mountpoint], step="copy the root file system")
            _run(buildah_command("umount", container), step="buildah umount")
            _run(buildah_command(
                "config", "--arch", architecture, "--os", "linux",
                "--env", "PATH=/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--env", "LANG=C.UTF-8", "--cmd", '["python3"]',
                "--label", f"org.opencontainers.image.description=Debian {DEBIAN_SUITE} stand-in for "
                           "python:3.11-slim-bookworm (deploy/image.py)",
                container), step="buildah config")
            _run(buildah_command("commit", "--quiet", "--format", "docker", container, name), step="buildah commit")
        finally:
            subprocess.run(buildah_command("rm", container), capture_output=True)
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
    say(f"stand-in base {name} made in {time.monotonic() - started:.0f}s")
    return name


def _shape_like_official(rootfs: Path) -> None:
    """What differs between Debian's python3 and the official image, made the same."""
    # The official image's pip installs into the system Python; Debian's refuses (PEP 668).
    for marker in (rootfs / "usr" / "lib").glob("python3*/EXTERNALLY-MANAGED"):
        marker.unlink()
    local_bin = rootfs / "usr" / "local" / "bin"
    local_bin.mkdir(parents=True, exist_ok=True)
    for link, target in (("python", "/usr/bin/python3"), ("pip", "/usr/bin/pip3")):
        (local_bin / link).unlink(missing_ok=True)
        (local_bin / link).symlink_to(target)
    # Like a slim image: no package caches, lists, documentation; no files of this host
    # (debootstrap copies its resolv.conf and hostname: emptied, runtimes mount their own).
    for name in ("etc/resolv.conf", "etc/hostname"):
        (rootfs / name).write_text("")
    for pattern in ("var/cache/apt/archives/*.deb", "var/lib/apt/lists/*", "usr/share/doc/*",
                    "usr/share/man/*", "usr/share/info/*", "dev/*", "var/log/*.log", "var/cache/debconf/*-old"):
        for path in rootfs.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


# ------------------------------------------------------------------------ helpers
def _trust_mounts() -> list[str]:
    """`--volume` flag that lets the build's RUN steps trust the CA bundle this host's pip trusts.

    The bundle is mounted over the base's own bundle (a file that exists there), so no
    layer keeps a trace of it. Needed behind a TLS-inspecting egress proxy (these machines).
    """
    cert = os.environ.get("PIP_CERT")
    if not cert:
        parser = configparser.ConfigParser()
        parser.read([os.path.expanduser(p) for p in ("/etc/xdg/pip/pip.conf", "/etc/pip.conf",
                                                     "~/.config/pip/pip.conf", "~/.pip/pip.conf")])
        cert = parser.get("global", "cert", fallback=None)
    if not cert or not os.path.isfile(cert):
        return []
    return ["--volume", f"{os.path.realpath(cert)}:/etc/ssl/certs/ca-certificates.crt:ro"]


def _image_exists(name: str) -> bool:
    return subprocess.run(buildah_command("inspect", "--type", "image", name), capture_output=True).returncode == 0


def _require_tools() -> None:
    missing = [tool for tool in ("buildah", "debootstrap") if shutil.which(tool) is None]
    if missing:
        raise ImageBuildError(f"missing: {', '.join(missing)} (`make image` installs them with apt)")


def _run(argv: list[str], *, step: str, say: Say | None = None, stream: bool = False) -> subprocess.CompletedProcess:
    """Run one build step; on failure raise ImageBuildError with the end of its output."""
    if stream and say is not None:
        lines: list[str] = []
        with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line.rstrip("\n"))
                if "STEP " in line[:16] or line.startswith("COMMIT"):
                    say(f"  {line.rstrip()[:160]}")
        result = subprocess.CompletedProcess(argv, proc.returncode, "\n".join(lines), "")
    else:
        result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + "\n" + (result.stderr or "")).strip().splitlines()[-30:])
        raise ImageBuildError(f"{step} failed (exit {result.returncode}):\n{tail}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.image", description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=ARCHITECTURES,
                        help="default: the architecture of --env's task definition")
    parser.add_argument("--env", default="dev", help="environment whose task architecture is the default (dev)")
    args = parser.parse_args(argv)
    architecture = args.arch or default_architecture(args.env)
    started = time.monotonic()
    try:
        image = build_image(architecture, say=lambda line: print(line, flush=True))
    except ImageBuildError as exc:
        print(f"image build failed: {exc}", file=sys.stderr)
        return 1
    print(f"{image.name} {image.architecture} sha256:{image.image_id} "
          f"{image_size(image.name) / 1e6:.0f} MB, {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
