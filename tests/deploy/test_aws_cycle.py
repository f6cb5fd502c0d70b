"""The strongest test that the stacks really apply: the whole cycle against the emulator.

Synthesize, bootstrap the state bucket, apply session-dev through its S3 backend, a second
plan must be empty, the original design's checks pass through the AWS API, destroy leaves an
empty state. Takes ~8 minutes, most of it the provider's fixed MemoryDB destroy wait.

The same emulator run also proves what `make demo` relies on: after `deploy` (the demo's path)
the emulator is still running with the deployment in it, the printed look-around commands answer,
and `make down`'s way of stopping (by pidfile) removes it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from localdev import procs
from localdev.aws_cycle import deploy
from localdev.aws_look import call
from localdev.__main__ import down
from localdev.runtime import ROOT


def test_dev_deploys_stays_up_for_the_demo_then_destroys_and_down_removes_it(tmp_path, capsys):
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    directory = tmp_path / "cycle"
    up = deploy(directory, emulator_port=None, say=say, detach=True)
    try:
        assert up is not None and up.ok, "\n".join(lines) + "\n" + (directory / "terraform.log").read_text()[-6000:]
        # The demo's state after `deploy`: the emulator runs on, detached, with session-dev in it.
        pid = procs.read_pidfile(directory / "emulator.pid")
        assert pid == up.emulator.pid and procs.pid_alive(pid)
        capsys.readouterr()
        assert call(directory, "memorydb", "describe-clusters", []) == 0
        clusters = json.loads(capsys.readouterr().out)["Clusters"]
        assert [c["Name"] for c in clusters] == [up.settings.names.store_cluster]
        assert call(directory, "ssm", "get-parameters-by-path",
                    ["--path", up.settings.parameter_prefix, "--recursive"]) == 0
        assert json.loads(capsys.readouterr().out)["Parameters"]
        if shutil.which("aws"):  # the AWS CLI form the demo prints, where the CLI is installed
            cli = subprocess.run(["aws", "--region", up.settings.region, "--endpoint-url", up.emulator.url,
                                  "ecs", "describe-services", "--cluster", up.settings.names.ecs_cluster,
                                  "--services", up.settings.names.ecs_service],
                                 env={**up.env, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"},
                                 capture_output=True, text=True, timeout=60)
            assert cli.returncode == 0, cli.stderr
            assert json.loads(cli.stdout)["services"][0]["serviceName"] == up.settings.names.ecs_service
        # The full destroy proof, on the same deployment.
        assert up.destroy(), "\n".join(lines) + "\n" + (directory / "terraform.log").read_text()[-6000:]
    finally:
        # `make down` (python -m localdev down) on this directory: every process by its pidfile.
        down(directory=tmp_path)
    assert "stopped 1 process(es) (the AWS emulator among them" in capsys.readouterr().out
    assert not procs.pid_alive(up.emulator.pid) and not procs.port_open(up.emulator.port)
    assert not tmp_path.exists()


def test_aws_command_wrapper_reports_no_emulator(tmp_path):
    result = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                             "from localdev.aws_look import call; "
                             f"sys.exit(call(Path({str(tmp_path)!r}), 'memorydb', 'describe-clusters', []))"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "make demo" in result.stderr


def test_a_long_step_says_it_is_alive(tmp_path):
    """Every wait longer than the heartbeat period reports elapsed time and what it waits for."""
    import threading

    from localdev.aws_cycle import Step

    lines: list[str] = []
    beat = threading.Event()

    def say(line: str) -> None:
        lines.append(line)
        if "still waiting" in line:
            beat.set()

    step = Step(say, tmp_path / "log", every=0.05)
    assert step.run("terraform apply", lambda: None if beat.wait(30) else "no heartbeat within 30 s")
    assert any(line.startswith("  ...     terraform apply: still waiting, ") and line.endswith("s so far")
               for line in lines), lines
    assert lines[-1].startswith("  ok      terraform apply (")


def test_aws_command_options_are_typed_by_the_operation():
    import boto3

    from localdev.aws_look import parse_options

    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")

    def shape(service: str, operation: str):
        client = session.client(service, endpoint_url="http://127.0.0.1:9")
        return client.meta.service_model.operation_model(client.meta.method_to_api_mapping[operation]).input_shape

    assert parse_options(shape("ssm", "get_parameters_by_path"), ["--path", "/session-app/dev/", "--recursive"]) == {
        "Path": "/session-app/dev/", "Recursive": True}
    assert parse_options(shape("ecs", "describe_services"), ["--cluster", "c", "--services", "a", "b"]) == {
        "cluster": "c", "services": ["a", "b"]}  # ECS names its members in camelCase
    assert parse_options(shape("application-autoscaling", "describe_scalable_targets"),
                         ["--service-namespace", "ecs", "--max-results", "5"]) == {"ServiceNamespace": "ecs",
                                                                                  "MaxResults": 5}
