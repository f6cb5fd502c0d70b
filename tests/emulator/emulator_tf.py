"""Helpers to drive real Terraform (provider 5.100.0) against the emulator.

Also runnable by hand: `python tests/emulator/emulator_tf.py [apply|plan|destroy|all] WORKDIR`
against an emulator at $AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TF_MIRROR = Path(os.environ.get("TF_MIRROR", "/opt/tf-plugins"))


def write_cli_config(path: Path) -> Path:
    """Terraform CLI config that takes hashicorp/aws from the offline mirror if present."""
    if TF_MIRROR.is_dir():
        path.write_text(
            "provider_installation {\n"
            f'  filesystem_mirror {{\n    path    = "{TF_MIRROR}"\n'
            '    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n'
            '  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n'
        )
    else:
        path.write_text("")
    return path


def self_signed_cert(common_name: str = "probe.example.com") -> tuple[str, str]:
    """PEM certificate and key for importing into ACM (the HTTPS listener needs one)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return cert_pem, key_pem


@dataclass
class TfResult:
    args: list[str]
    returncode: int
    output: str
    seconds: float


class Terraform:
    """Runs terraform in one working dir with the emulator's environment."""

    def __init__(self, workdir: Path, endpoint_url: str, log: Path | None = None) -> None:
        self.workdir = workdir
        self.log = log or workdir / "terraform.log"
        cli_config = write_cli_config(workdir / "terraformrc")
        self.env = dict(os.environ)
        self.env.update(
            {
                "TF_CLI_CONFIG_FILE": str(cli_config),
                "CHECKPOINT_DISABLE": "1",
                "TF_IN_AUTOMATION": "1",
                "TF_INPUT": "0",
                "AWS_ENDPOINT_URL": endpoint_url,
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_MAX_ATTEMPTS": "2",
            }
        )
        for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "TF_CLI_ARGS", "TF_CLI_ARGS_init"):
            self.env.pop(var, None)

    def run(self, *args: str, check: bool = True) -> TfResult:
        """Run one terraform command, streaming its output into the log file."""
        started = time.monotonic()
        with open(self.log, "a") as fh:
            fh.write(f"\n===== terraform {' '.join(args)}\n")
            fh.flush()
            offset = fh.tell()
            proc = subprocess.run(
                ["terraform", *args], cwd=self.workdir, env=self.env, stdout=fh, stderr=subprocess.STDOUT
            )
        with open(self.log) as fh:
            fh.seek(offset)
            output = fh.read()
        result = TfResult(list(args), proc.returncode, output, time.monotonic() - started)
        with open(self.log, "a") as fh:
            fh.write(f"===== exit {proc.returncode} after {result.seconds:.0f} s\n")
        if check and proc.returncode != 0:
            raise AssertionError(f"terraform {' '.join(args)} failed ({proc.returncode}):\n{output[-6000:]}")
        return result


def prepare_probe(workdir: Path, fixture: str = "probe") -> None:
    """Copy a fixture config and its generated certificate into workdir."""
    shutil.copytree(FIXTURES / fixture, workdir, dirs_exist_ok=True)
    cert, key = self_signed_cert()
    (workdir / "terraform.tfvars").write_text(
        f"certificate_body = <<-PEM\n{cert}PEM\nprivate_key = <<-PEM\n{key}PEM\n"
    )


if __name__ == "__main__":
    step, work = sys.argv[1], Path(sys.argv[2])
    work.mkdir(parents=True, exist_ok=True)
    tf = Terraform(work, os.environ["AWS_ENDPOINT_URL"])
    if step in ("init", "all"):
        prepare_probe(work, os.environ.get("FIXTURE", "probe"))
        tf.run("init", "-no-color")
    if step in ("apply", "all"):
        print(tf.run("apply", "-auto-approve", "-no-color", "-parallelism=20", check=False).output[-8000:])
    if step in ("plan", "all"):
        r = tf.run("plan", "-detailed-exitcode", "-no-color", check=False)
        print(r.returncode, r.output[-12000:])
    if step == "destroy":
        print(tf.run("destroy", "-auto-approve", "-no-color", "-parallelism=20", check=False).output[-8000:])
