"""A real Redis Cluster on 127.0.0.1 built from Debian's ``redis-server``: the
local stand-in for Amazon MemoryDB (which is always cluster mode, TLS, ACL).

    cluster = RedisCluster(directory)      # 3 primaries + 3 replicas by default
    cluster.start()                        # TLS (throwaway CA), ACL user, cluster create
    cluster.endpoint                       # ("127.0.0.1", first node port)
    cluster.kill_primary()                 # SIGKILL a primary; its replica takes over
    cluster.restart_all()                  # stop every node, start again from AOF
    cluster.stop()                         # stop every node by PID

Every node listens on TLS only (``port 0``), with ``cluster-node-timeout 2000``
and ``cluster-require-full-coverage no``.  The ``default`` user is disabled; one
ACL user (``username``/``password``) can do everything, and replicas
authenticate to primaries with it.  All files live under *directory*.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import procs

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


# --------------------------------------------------------------------------- TLS
def make_tls_material(directory: str | os.PathLike, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> dict[str, str]:
    """Write a throwaway CA and a server certificate for *hosts* into *directory*.

    Returns paths: ``ca``, ``cert``, ``key``.  Uses the ``cryptography`` package
    when importable, else the ``openssl`` command line.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    paths = {"ca": str(d / "ca.crt"), "ca_key": str(d / "ca.key"), "cert": str(d / "server.crt"), "key": str(d / "server.key")}
    try:
        _make_tls_cryptography(paths, hosts)
    except ImportError:
        _make_tls_openssl(paths, hosts)
    for k in ("ca_key", "key"):
        os.chmod(paths[k], 0o600)
    return paths


def _make_tls_cryptography(paths: dict[str, str], hosts: tuple[str, ...]) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(minutes=5)
    later = now + _dt.timedelta(days=30)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localdev throwaway CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(later)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(later)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    def pem_key(k):
        return k.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    Path(paths["ca"]).write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    Path(paths["ca_key"]).write_bytes(pem_key(ca_key))
    Path(paths["cert"]).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    Path(paths["key"]).write_bytes(pem_key(key))


def _make_tls_openssl(paths: dict[str, str], hosts: tuple[str, ...]) -> None:
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    san = ",".join(
        (f"IP:{h}" if _is_ip(h) else f"DNS:{h}") for h in hosts
    )
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", paths["ca_key"], "-out", paths["ca"], "-days", "30",
        "-subj", "/CN=localdev throwaway CA")
    csr = paths["cert"] + ".csr"
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", paths["key"], "-out", csr, "-subj", f"/CN={hosts[0]}")
    ext = paths["cert"] + ".ext"
    Path(ext).write_text(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n"
                         "extendedKeyUsage=serverAuth,clientAuth\n")
    run("x509", "-req", "-in", csr, "-CA", paths["ca"], "-CAkey", paths["ca_key"],
        "-CAcreateserial", "-out", paths["cert"], "-days", "30", "-extfile", ext)


def _is_ip(h: str) -> bool:
    try:
        ipaddress.ip_address(h)
        return True
    except ValueError:
        return False


# ----------------------------------------------------------------------- nodes
@dataclass
class Node:
    port: int
    bus_port: int
    directory: Path
    proc: subprocess.Popen | None = None

    @property
    def pidfile(self) -> Path:
        return self.directory / "redis.pid"

    @property
    def conf(self) -> Path:
        return self.directory / "redis.conf"

    @property
    def logfile(self) -> Path:
        return self.directory / "redis.log"

    @property
    def pid(self) -> int | None:
        if self.proc is not None and self.proc.poll() is None:
            return self.proc.pid
        return None

    @property
    def address(self) -> str:
        return f"{procs.LOOPBACK}:{self.port}"


@dataclass
class RedisCluster:
    """A Redis Cluster of ``primaries`` x (1 + ``replicas_per_primary``) nodes."""

    directory: Path
    primaries: int = 3
    replicas_per_primary: int = 1
    username: str = "session-app"
    password: str = field(default_factory=lambda: os.urandom(18).hex())
    tls: bool = True
    appendonly: bool = True
    node_timeout_ms: int = 2000
    nodes: list[Node] = field(default_factory=list)
    tls_paths: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)

    # ------------------------------------------------------------ public API
    @property
    def endpoint(self) -> tuple[str, int]:
        return procs.LOOPBACK, self.nodes[0].port

    @property
    def ca_file(self) -> str | None:
        return self.tls_paths.get("ca")

    def client_env(self) -> dict[str, str]:
        """Environment variables that point the session service at this cluster."""
        env = {
            "SESSION_STORE_ENDPOINT": procs.LOOPBACK,
            "SESSION_STORE_PORT": str(self.nodes[0].port),
            "SESSION_STORE_USERNAME": self.username,
            "SESSION_STORE_PASSWORD": self.password,
            "SESSION_STORE_AUTH": "password",
            "SESSION_STORE_TLS": "true" if self.tls else "false",
        }
        if self.tls:
            env["SESSION_STORE_CA_FILE"] = self.tls_paths["ca"]
        return env

    def start(self, timeout: float = 60.0) -> "RedisCluster":
        """Generate TLS material, write configs, start nodes, create the cluster
        and wait until every node reports ``cluster_state:ok`` and every replica
        is in sync."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.tls and not self.tls_paths:
            self.tls_paths = make_tls_material(self.directory / "tls")
        total = self.primaries * (1 + self.replicas_per_primary)
        ports = procs.free_ports(2 * total)
        self.nodes = [
            Node(port=ports[2 * i], bus_port=ports[2 * i + 1], directory=self.directory / f"node-{i}")
            for i in range(total)
        ]
        try:
            for node in self.nodes:
                node.directory.mkdir(parents=True, exist_ok=True)
                node.conf.write_text(self._config(node))
                self._start_node(node)
            for node in self.nodes:
                procs.wait_for_port(node.port, timeout=15, proc=node.proc)
            self._cli(
                "--cluster", "create", *[n.address for n in self.nodes],
                "--cluster-replicas", str(self.replicas_per_primary), "--cluster-yes",
                timeout=60,
            )
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every node by its PID (SIGTERM, then SIGKILL)."""
        running = [n for n in self.nodes if n.pid is not None]
        procs.stop_all([n.proc for n in running], timeout=timeout)  # type: ignore[misc]
        for n in self.nodes:
            if n.pid is None and n.pidfile.exists():
                # Started by another process (pidfile only): stop by that PID.
                procs.stop_pidfile(n.pidfile, timeout)

    def __enter__(self) -> "RedisCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def restart_all(self, timeout: float = 60.0) -> None:
        """Stop every node (SIGTERM: Redis flushes its AOF) and start them again
        with the same ports and files; the data comes back from the AOF."""
        self.stop()
        for node in self.nodes:
            self._start_node(node)
        for node in self.nodes:
            procs.wait_for_port(node.port, timeout=15, proc=node.proc)
        self.wait_healthy(timeout)

    def primary_nodes(self) -> list[Node]:
        """Nodes that currently serve slots, asked of a live node."""
        by_port = {n.port: n for n in self.nodes}
        result = []
        for line in self._live_cluster_nodes().splitlines():
            parts = line.split()
            if len(parts) >= 8 and "master" in parts[2] and "fail" not in parts[2] and len(parts) > 8:
                port = int(parts[1].split("@")[0].rsplit(":", 1)[1])
                if port in by_port:
                    result.append(by_port[port])
        return result

    def kill_primary(self, index: int = 0) -> Node:
        """SIGKILL one primary (no clean shutdown); its replica is promoted after
        ``cluster-node-timeout``.  Returns the killed node."""
        node = self.primary_nodes()[index]
        procs.stop_pid(node.proc.pid, timeout=0, sig=9)  # type: ignore[union-attr]
        if node.proc is not None:
            node.proc.wait(5)
        return node

    def start_node(self, node: Node, timeout: float = 30.0) -> None:
        """Start a stopped node again (it rejoins; a former primary comes back as replica)."""
        self._start_node(node)
        procs.wait_for_port(node.port, timeout=15, proc=node.proc)
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float = 60.0) -> None:
        """Wait until every running node says ``cluster_state:ok``, all slots are
        served by exactly ``primaries`` primaries and replicas are connected."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                ok = True
                for n in self.nodes:
                    if n.pid is None:
                        continue
                    info = self._cli("-p", str(n.port), "cluster", "info", timeout=5)
                    if "cluster_state:ok" not in info or "cluster_slots_ok:16384" not in info:
                        ok, last = False, info
                        break
                    nodes = self._cli("-p", str(n.port), "cluster", "nodes", timeout=5)
                    if " fail" in nodes or "handshake" in nodes or "noaddr" in nodes:
                        ok, last = False, nodes
                        break
                if ok and self._replicas_in_sync():
                    return
            except (subprocess.SubprocessError, OSError) as exc:
                last = str(exc)
            time.sleep(0.2)
        raise TimeoutError(f"cluster not healthy after {timeout:.0f}s: {last[-500:]}")

    def cli(self, *args: str, port: int | None = None, timeout: float = 10) -> str:
        """Run ``redis-cli`` with this cluster's TLS/ACL settings against a node."""
        return self._cli("-p", str(port or self.nodes[0].port), *args, timeout=timeout)

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.tls_paths["ca"])
        return ctx

    # ------------------------------------------------------------ internals
    def _config(self, node: Node) -> str:
        lines = [
            f"bind {procs.LOOPBACK}",
            "protected-mode yes",
            f"dir {node.directory}",
            f"pidfile {node.pidfile}",
            f"logfile {node.logfile}",
            "daemonize no",
            "cluster-enabled yes",
            "cluster-config-file nodes.conf",
            f"cluster-port {node.bus_port}",
            f"cluster-node-timeout {self.node_timeout_ms}",
            "cluster-require-full-coverage no",
            "cluster-allow-reads-when-down no",
            'save ""',
            f"appendonly {'yes' if self.appendonly else 'no'}",
            "appendfsync everysec",
            # ACL: default user off, one dedicated user (MemoryDB-style).
            "user default off",
            f"user {self.username} on >{self.password} ~* &* +@all",
            f"masteruser {self.username}",
            f"masterauth {self.password}",
            "maxmemory 256mb",
            "maxmemory-policy noeviction",
        ]
        if self.tls:
            lines += [
                "port 0",
                f"tls-port {node.port}",
                f"tls-cert-file {self.tls_paths['cert']}",
                f"tls-key-file {self.tls_paths['key']}",
                f"tls-ca-cert-file {self.tls_paths['ca']}",
                "tls-auth-clients no",
                "tls-replication yes",
                "tls-cluster yes",
            ]
        else:
            lines.append(f"port {node.port}")
        return "\n".join(lines) + "\n"

    def _start_node(self, node: Node) -> None:
        node.proc = procs.start_process(
            [REDIS_SERVER, str(node.conf)],
            cwd=node.directory,
            stdout=node.directory / "stdout.log",
            stderr=subprocess.STDOUT,
        )

    def _cli_base(self) -> list[str]:
        args = [REDIS_CLI, "-h", procs.LOOPBACK, "--user", self.username, "--pass", self.password, "--no-auth-warning"]
        if self.tls:
            args += ["--tls", "--cacert", self.tls_paths["ca"]]
        return args

    def _cli(self, *args: str, timeout: float = 10) -> str:
        if args and args[0] == "--cluster":
            # redis-cli --cluster needs a -p free argument list.
            cmd = self._cli_base() + list(args)
        else:
            cmd = self._cli_base() + list(args)
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if res.returncode != 0:
            raise subprocess.CalledProcessError(res.returncode, cmd[:1] + list(args), res.stdout, res.stderr)
        return res.stdout

    def _live_cluster_nodes(self) -> str:
        for n in self.nodes:
            if n.pid is not None:
                try:
                    return self._cli("-p", str(n.port), "cluster", "nodes", timeout=5)
                except (subprocess.SubprocessError, OSError):
                    continue
        raise RuntimeError("no live cluster node")

    def _replicas_in_sync(self) -> bool:
        for n in self.nodes:
            if n.pid is None:
                continue
            info = self._cli("-p", str(n.port), "info", "replication", timeout=5)
            if "role:slave" in info and "master_link_status:up" not in info:
                return False
        return True




def main(argv: list[str] | None = None) -> int:
    """``python -m localdev.redis_cluster [--dir DIR] [-- COMMAND ...]``

    Start a local cluster; with a COMMAND, run it with the cluster's
    ``SESSION_STORE_*`` variables in its environment and stop the cluster when
    it exits; without one, print the variables and wait for Ctrl-C."""
    import argparse
    import signal
    import sys
    import tempfile

    ap = argparse.ArgumentParser(prog="python -m localdev.redis_cluster", description=main.__doc__)
    ap.add_argument("--dir", help="where the nodes keep their files (default: a new temp dir)")
    ap.add_argument("--no-aof", action="store_true", help="do not keep append-only files")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    directory = Path(args.dir or tempfile.mkdtemp(prefix="redis-cluster-"))
    cluster = RedisCluster(directory, appendonly=not args.no_aof)
    stop = {"flag": False}

    def on_signal(signum, frame):
        stop["flag"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    cluster.start()
    env_vars = cluster.client_env()
    try:
        if command:
            child = subprocess.Popen(command, env={**os.environ, **env_vars})
            while child.poll() is None:
                if stop["flag"]:
                    procs.stop_process(child, timeout=25)
                    break
                time.sleep(0.2)
            return child.returncode or 0
        for k, v in env_vars.items():
            print(f"export {k}={v}")
        print(f"# cluster files in {directory}; Ctrl-C stops it", file=sys.stderr, flush=True)
        while not stop["flag"]:
            time.sleep(0.2)
        return 0
    finally:
        cluster.stop()


__all__ = ["RedisCluster", "Node", "make_tls_material", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
