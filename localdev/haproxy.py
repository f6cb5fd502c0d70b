"""HAProxy as the local stand-in for the Application Load Balancer.

Round robin, no stickiness (sessions live in the store), active health checks on the
service's liveness path like the target group's, and an admin socket so a target can be
drained before it is stopped, as ECS deregisters a task from the target group (and waits the
deregistration delay) before it sends SIGTERM.
"""

from __future__ import annotations

import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


@dataclass(frozen=True)
class Backend:
    name: str
    port: int


def render_config(*, listen_port: int, backends: list[Backend], admin_socket: Path, pidfile: Path,
                  health_check_path: str = "/healthz", check_interval_ms: int = 1000) -> str:
    servers = "\n".join(f"    server {b.name} 127.0.0.1:{b.port} check" for b in backends)
    return f"""\
global
    pidfile {pidfile}
    stats socket {admin_socket} mode 600 level admin
    maxconn 4096

defaults
    mode http
    option http-server-close
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    # A refused or dropped connection is retried on another instance. The ALB does NOT do
    # this (it answers 502): the SIGKILL drill reports how many requests these retries saved.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout

frontend web
    bind 127.0.0.1:{listen_port}
    http-request set-header X-Forwarded-Proto http
    # Appends the client's address as the ALB does (the service takes the last entry).
    option forwardfor
    default_backend session_service

backend session_service
    balance roundrobin
    option httpchk GET {health_check_path}
    http-check expect status 200
    default-server inter {check_interval_ms} fall 2 rise 2
{servers}
"""


def admin_command(admin_socket: Path, command: str) -> str:
    """Send one command to HAProxy's runtime API (e.g. `set server session_service/app-1 state drain`)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(5)
        connection.connect(str(admin_socket))
        connection.sendall(command.encode() + b"\n")
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def set_server_state(admin_socket: Path, server: str, state: str) -> None:
    """state: ready, drain or maint."""
    answer = admin_command(admin_socket, f"set server session_service/{server} state {state}").strip()
    if answer:
        raise RuntimeError(f"haproxy refused to set {server} to {state}: {answer}")
