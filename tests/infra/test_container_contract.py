"""The container contract: its [service] settings, their rules, the task they make, and
docs/container-contract.md generated from the same code."""

from __future__ import annotations

from dataclasses import replace

import pytest

from stacks import contract_doc
from stacks.config_loader import load_environment
from stacks.contract import CONFIG_DIGEST_VARIABLE, PARAMETERS, TASK_ROLE_ACTIONS, plain_environment
from stacks.settings import EnvironmentSettings
from stacks.validation import InvalidSettings, validate
from tests.infra.test_validation import write_config
from tests.infra.workload.conftest import container, only, resources, synth_with

BASE = EnvironmentSettings(name="dev")
PY_CHECK = ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:{port}{path}', timeout=3)"]


def with_service(**changes) -> EnvironmentSettings:
    return replace(BASE, service=replace(BASE.service, **changes))


def problems(settings: EnvironmentSettings) -> list[tuple[str, str]]:
    try:
        validate(settings)
    except InvalidSettings as error:
        return [(p.field, p.rule) for p in error.problems]
    return []


# (changes that pass, changes that fail, the field named, words of the rule)
RULES = [
    ({"health_check_path": "/ready", "health_check_command": tuple(PY_CHECK)},
     {"health_check_path": "ready", "health_check_command": tuple(PY_CHECK)}, "service.health_check_path",
     "starting with /"),
    ({"health_check_path": "/a/b.c_d~e-f", "health_check_command": ()},
     {"health_check_path": "/x?y=1", "health_check_command": ()}, "service.health_check_path", "starting with /"),
    ({"health_check_path": "/ready", "health_check_command": tuple(PY_CHECK)}, {"health_check_path": "/ready"},
     "service.health_check_command", "checks /healthz only"),
    ({"health_check_command": ()}, {"health_check_command": ("python", "")}, "service.health_check_command",
     "non-empty strings"),
    ({"command": ("gunicorn", "app:app")}, {"command": ()}, "service.command", "non-empty list"),
    ({"command": None}, {"command": ("gunicorn", " ")}, "service.command", "non-empty strings"),
    ({"user": "1000"}, {"user": "app"}, "service.user", "uid or uid:gid in digits"),
    ({"user": "1000:1000"}, {"user": "0:0"}, "service.user", "must not be root"),
    ({"user": "1000:1000"}, {"user": "1000:00"}, "service.user", "must not be root"),
    ({"stop_timeout_seconds": 2}, {"stop_timeout_seconds": 1}, "service.stop_timeout_seconds", "2-120"),
    ({"container_port": 8000}, {"container_port": 443}, "service.container_port", "1024-65535"),
    ({"environment": {"APP_MODE": "demo"}}, {"environment": {"SESSION_STORE_ENDPOINT": "evil"}},
     "service.environment.SESSION_STORE_ENDPOINT", "is reserved"),
    ({"environment": {"_X1": ""}}, {"environment": {"aws_region": "eu-west-1"}}, "service.environment.aws_region",
     "is reserved"),
    ({"environment": {"LOG_LEVEL": "info"}}, {"environment": {"ECS_ENABLE_X": "1"}}, "service.environment.ECS_ENABLE_X",
     "is reserved"),
    ({"environment": {"A_B": "1"}}, {"environment": {"1ST": "x"}}, "service.environment.1ST", "letters, digits and _"),
    ({"environment": {"A_B": "1"}}, {"environment": {"A-B": "x"}}, "service.environment.A-B", "letters, digits and _"),
]


@pytest.mark.parametrize(("good", "bad", "field", "rule"), RULES, ids=[f"{r[2]}={r[1]!r}" for r in RULES])
def test_rule(good, bad, field, rule):
    assert problems(with_service(**good)) == []
    found = problems(with_service(**bad))
    assert [f for f, _ in found] == [field], found
    assert rule in found[0][1]


def test_the_defaults_are_todays_values():
    s = BASE.service
    assert (s.container_port, s.health_check_path, s.command, s.user, s.stop_timeout_seconds, s.environment) == (
        8080, "/healthz", None, "10001:10001", 30, {})
    assert s.health_check_command == ("python", "-m", "app", "healthcheck")


def test_environment_table_and_list_settings_load_from_toml(tmp_path):
    write_config(tmp_path, 'environments = ["dev"]\n', dev=(
        '[service]\ncontainer_port = 8000\ncommand = ["gunicorn", "app:app"]\nuser = "1000:1000"\n'
        '[service.environment]\nAPP_MODE = "demo"\nWORKERS = 2\nDEBUG = false\n'))
    s = load_environment("dev", tmp_path).service
    assert s.command == ("gunicorn", "app:app") and s.user == "1000:1000"
    assert s.environment == {"APP_MODE": "demo", "WORKERS": "2", "DEBUG": "false"}


@pytest.mark.parametrize(("toml", "message"), [
    ('[service]\nenvironment = "APP=1"\n', r"service.environment = 'APP=1': must be a table"),
    ('[service.environment]\nAPP = ["a"]\n', r"service.environment = .*: must be a table of strings, numbers or booleans"),
    ('[service]\ncommand = "gunicorn app:app"\n', r"service.command = 'gunicorn app:app': must be a list of strings"),
    ('[service.environment]\nSESSION_X = "1"\n', r"service.environment.SESSION_X = '1': is reserved"),
    ('[load_balancer]\nhealth_check_path = "/ready"\n',
     r"load_balancer.health_check_path = '/ready': has moved to service.health_check_path"),
])
def test_bad_toml_names_the_field(tmp_path, toml, message):
    write_config(tmp_path, 'environments = ["dev"]\n', dev=toml)
    with pytest.raises(InvalidSettings, match=message):
        load_environment("dev", tmp_path)


@pytest.fixture(scope="module")
def example_stack() -> dict:
    """dev set up for another image: the examples/flask contract."""
    return synth_with("dev", service={
        "container_port": 8000, "health_check_path": "/ready", "health_check_command": tuple(PY_CHECK),
        "command": ("gunicorn", "--bind", "0.0.0.0:8000", "app:app"), "user": "1000:1000",
        "stop_timeout_seconds": 20, "environment": {"APP_MODE": "demo"}})


def test_the_task_follows_the_contract_settings(example_stack):
    definition = container(example_stack)
    assert definition["portMappings"][0]["containerPort"] == 8000
    assert definition["command"] == ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]
    assert definition["user"] == "1000:1000" and definition["stopTimeout"] == 20
    assert definition["healthCheck"]["command"] == [
        "CMD", "python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/ready', timeout=3)"]
    environment = {e["name"]: e["value"] for e in definition["environment"]}
    assert environment["APP_MODE"] == "demo" and environment["SESSION_HTTP_PORT"] == "8000"


def test_the_load_balancer_checks_the_same_path_and_port(example_stack):
    group = only(example_stack, "aws_lb_target_group")
    assert group["health_check"]["path"] == "/ready" and group["port"] == 8000
    assert only(example_stack, "aws_ecs_service")["load_balancer"][0]["container_port"] == 8000
    rules = resources(example_stack, "aws_vpc_security_group_ingress_rule").values()
    assert any(r.get("from_port") == 8000 and r.get("to_port") == 8000 for r in rules)


def test_no_container_health_check_when_the_command_is_empty():
    stack = synth_with("dev", service={"health_check_command": ()})
    assert "healthCheck" not in container(stack)
    assert only(stack, "aws_lb_target_group")["health_check"]["path"] == "/healthz"


def test_the_service_image_keeps_its_cmd_and_check(synthesized):
    definition = container(synthesized["session-dev"])
    assert "command" not in definition
    assert definition["healthCheck"]["command"] == ["CMD", "python", "-m", "app", "healthcheck"]


# ------------------------------------------------------------------ the document
def test_the_document_is_current():
    text = contract_doc.DOC.read_text()
    assert contract_doc.render(text) == text, "docs/container-contract.md is stale: run `python -m stacks.contract_doc --write`"


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_the_task_gets_exactly_what_the_document_lists(synthesized, env):
    """Every variable, secret and task-role action of the synthesized task is in the contract."""
    stack = synthesized[f"session-{env}"]
    definition = container(stack)
    settings = load_environment(env)
    assert {e["name"] for e in definition["environment"]} == {*plain_environment(settings), CONFIG_DIGEST_VARIABLE}
    assert {s["name"] for s in definition["secrets"]} == set(PARAMETERS.values())
    documented = set(contract_doc.ENVIRONMENT_MEANING) | set(contract_doc.PARAMETER_MEANING)
    assert {e["name"] for e in definition["environment"]} | {s["name"] for s in definition["secrets"]} <= documented
    task_policy = next(p for p in resources(stack, "aws_iam_role_policy").values() if p["name"] == "connect-session-store")
    assert all(f'"{action}"' in task_policy["policy"] for action in TASK_ROLE_ACTIONS)
    assert task_policy["policy"].count('"Action"') == 1
    assert definition["readonlyRootFilesystem"] is True
    assert [m["containerPath"] for m in definition["mountPoints"]] == ["/tmp"]
