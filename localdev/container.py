"""Run a command of a locally built image the way a container runtime does, without one.

    with Container.of(image) as container:               # buildah from + buildah mount
        proc = container.start(["python", "-m", "app", "serve"], env, user="10001:10001",
                               volumes={"/tmp": scratch_dir}, read_only=True, log=path)
        container.run(["python", "-m", "app", "healthcheck"], env, user="10001:10001", ...)

Each process runs in a private mount namespace (`unshare --mount`) where the container's
root file system is bind-mounted onto itself, volumes (host folders) and /proc, a minimal
/dev, /dev/shm are mounted, then the root is remounted read-only (`read_only=True`) and the
command is exec'd with `chroot --userspec` as the given user (all capabilities are lost
with root), from the image's working directory. Any write outside the volumes fails with
EROFS. `start` returns the Popen of the command itself (everything before it is exec'd),
so signals reach it directly.

What it does not do (docker/ECS do): PID, network, UTS and IPC namespaces, cgroup limits,
seccomp, masked /proc paths. The network is the host's: the container listens on, and
reaches, 127.0.0.1.
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from localdev import procs
from deploy.image import buildah_command, image_config

# What a container runtime puts in /dev (bound from the host's).
_DEVICES = ("null", "zero", "full", "random", "urandom")


@dataclass
class Container:
    image: str
    container_id: str
    rootfs: Path
    config: dict  # the image's OCI config: Env, Entrypoint, Cmd, User, WorkingDir

    @classmethod
    def of(cls, image: str) -> "Container":
        """A working container of `image` (nothing runs yet), mounted on the host."""
        cid = subprocess.run(buildah_command("from", "--pull-never", image), check=True, capture_output=True,
                             text=True).stdout.strip()
        try:
            mountpoint = subprocess.run(buildah_command("mount", cid), check=True, capture_output=True,
                                        text=True).stdout.strip()
        except BaseException:
            subprocess.run(buildah_command("rm", cid), capture_output=True)
            raise
        return cls(image=image, container_id=cid, rootfs=Path(mountpoint), config=image_config(image))

    def __enter__(self) -> "Container":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def remove(self) -> None:
        subprocess.run(buildah_command("umount", self.container_id), capture_output=True)
        subprocess.run(buildah_command("rm", self.container_id), capture_output=True)

    # ------------------------------------------------------------------ image defaults
    def image_env(self) -> dict[str, str]:
        return dict(item.split("=", 1) for item in self.config.get("Env") or [])

    def default_command(self) -> list[str]:
        return [*(self.config.get("Entrypoint") or []), *(self.config.get("Cmd") or [])]

    def home_of(self, user: str) -> str:
        """HOME as docker sets it: the user's entry in the image's /etc/passwd, else "/"."""
        uid = user.split(":", 1)[0]
        for line in (self.rootfs / "etc" / "passwd").read_text().splitlines():
            fields = line.split(":")
            if len(fields) > 5 and uid in (fields[0], fields[2]):
                return fields[5]
        return "/"

    # ------------------------------------------------------------------ processes
    def argv(self, command: Sequence[str], *, user: str, volumes: Mapping[str, Path] | None = None,
             read_only: bool = True, workdir: str | None = None) -> list[str]:
        """The host command line that runs `command` in this container."""
        uid, _, gid = user.partition(":")
        if not (uid.isdigit() and gid.isdigit()):
            raise ValueError(f"user must be numeric uid:gid, got {user!r}")
        root = shlex.quote(str(self.rootfs))
        lines = ["set -eu", f"R={root}", 'mount --bind "$R" "$R"']
        for target, source in (volumes or {}).items():
            lines.append(f'mount --bind {shlex.quote(str(source))} "$R"{shlex.quote(target)}')
        lines += ['mount -t proc proc "$R/proc"',
                  'mount -t tmpfs -o nosuid,noexec,mode=755,size=64k tmpfs "$R/dev"']
        for device in _DEVICES:
            lines.append(f': > "$R/dev/{device}"; mount --bind /dev/{device} "$R/dev/{device}"')
        lines += ['ln -s /proc/self/fd "$R/dev/fd"', 'mkdir "$R/dev/shm"',
                  'mount -t tmpfs -o nosuid,nodev,noexec tmpfs "$R/dev/shm"']
        if read_only:  # last: the mounts above keep their own flags
            lines.append('mount -o remount,bind,ro "$R"')
        cwd = workdir or self.config.get("WorkingDir") or "/"
        lines.append(f'exec chroot --userspec={uid}:{gid} --groups={gid} "$R" /usr/bin/env -C {shlex.quote(cwd)} "$@"')
        return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", "\n".join(lines),
                "container", *command]

    def start(self, command: Sequence[str], env: Mapping[str, str], *, user: str, log: Path,
              volumes: Mapping[str, Path] | None = None, read_only: bool = True) -> subprocess.Popen:
        """Start `command` in the background; its output goes to `log`."""
        return procs.start_process(self.argv(command, user=user, volumes=volumes, read_only=read_only),
                                   env=dict(env), stdout=log, stderr=subprocess.STDOUT)

    def run(self, command: Sequence[str], env: Mapping[str, str], *, user: str, timeout: float,
            volumes: Mapping[str, Path] | None = None, read_only: bool = True) -> subprocess.CompletedProcess:
        """Run `command` to completion (like `docker exec` into a running container)."""
        return subprocess.run(self.argv(command, user=user, volumes=volumes, read_only=read_only), env=dict(env),
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def process_identity(pid: int) -> dict[str, str]:
    """Uid, Gid, Groups, CapEff and CapPrm of a running process (from /proc/<pid>/status)."""
    wanted = ("Uid", "Gid", "Groups", "CapEff", "CapPrm", "NoNewPrivs")
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in wanted:
            out[key] = " ".join(value.split())
    return out


__all__ = ["Container", "process_identity"]
