"""One declaration of the service's contract (app/contract.py) reaches the service, synth-time
validation, the Terraform variable, the task definition, localdev and the docs."""

from __future__ import annotations

import dataclasses
import json

import pytest

from app import contract
from app.config import ConfigError, Settings
from stacks.contract import PARAMETERS, SERVICE_RANGES
from stacks.settings import EnvironmentSettings
from stacks.validation import InvalidSettings, validate
from tests.infra.conftest import ROOT

BASE = EnvironmentSettings(name="dev")


def _with(settings: EnvironmentSettings, field: str, value) -> EnvironmentSettings:
    section, name = field.split(".")
    return dataclasses.replace(settings, **{section: dataclasses.replace(getattr(settings, section), **{name: value})})


def _synth_refuses(settings: EnvironmentSettings) -> set[str]:
    """The service-range fields that synth-time validation names."""
    try:
        validate(settings)
    except InvalidSettings as e:
        return {p.field for p in e.problems if p.field in SERVICE_RANGES}
    return set()


def _service_refuses(settings: EnvironmentSettings) -> str | None:
    """What the service says at start about the environment the stack would give it."""
    env = {"SESSION_STORE_ENDPOINT": "clustercfg.example.internal"}
    for field, row in SERVICE_RANGES.items():
        section, name = field.split(".")
        value = getattr(getattr(settings, section), name)
        env[row.env] = f"{value:g}" if isinstance(value, float) else str(value)
    try:
        Settings.from_env(env, use_parameter_store=False)
    except ConfigError as e:
        return str(e)
    return None


def _edges(row: contract.Setting) -> list:
    step = 1 if row.kind == "int" else 0.001
    return [row.low - step, row.low, row.high, row.high + step]


CASES = [(field, value) for field, row in SERVICE_RANGES.items() for value in _edges(row)]


@pytest.mark.parametrize(("field", "value"), CASES)
def test_synth_refuses_exactly_what_the_service_refuses(field, value):
    settings = _with(BASE, field, value)
    # Keep the cross-field rule (absolute >= idle) out of the way of the range under test.
    if field == "sessions.idle_timeout_seconds":
        settings = _with(settings, "sessions.absolute_lifetime_seconds", SERVICE_RANGES[
            "sessions.absolute_lifetime_seconds"].high)
    if field == "sessions.absolute_lifetime_seconds":
        settings = _with(settings, "sessions.idle_timeout_seconds", SERVICE_RANGES["sessions.idle_timeout_seconds"].low)
    synth, service = _synth_refuses(settings), _service_refuses(settings)
    row = SERVICE_RANGES[field]
    assert bool(synth) == (service is not None), (synth, service)
    if service is not None:
        assert synth == {field}  # synth names the setting ...
        assert row.env in service  # ... and the service its variable


def test_the_old_disagreement_on_payload_size_is_gone():
    """256-65536 at synth against 64 B-1 MiB in the service: now one range."""
    for value in (100, 100_000):
        settings = _with(BASE, "sessions.max_payload_bytes", value)
        assert _synth_refuses(settings) == set() and _service_refuses(settings) is None


def test_the_cross_rule_absolute_at_least_idle_holds_on_both_sides():
    settings = _with(_with(BASE, "sessions.idle_timeout_seconds", 3600), "sessions.absolute_lifetime_seconds", 1800)
    with pytest.raises(InvalidSettings, match="sessions.absolute_lifetime_seconds"):
        validate(settings)
    assert "SESSION_ABSOLUTE_LIFETIME_SECONDS" in _service_refuses(settings)


def test_the_terraform_variable_takes_the_services_idle_range(synthesized):
    row = SERVICE_RANGES["sessions.idle_timeout_seconds"]
    (rule,) = synthesized["session-dev"]["variable"]["session_timeout_seconds"]["validation"]
    assert f">= {row.low} " in rule["condition"] and f"<= {row.high} " in rule["condition"]
    assert f"from {row.low} to {row.high}" in rule["error_message"]


def test_parameters_are_the_declared_ones_the_stack_sets():
    assert PARAMETERS == {s.parameter: s.env for s in contract.SETTINGS if s.parameter and s.stack_sets}
    assert "memorydb/password" not in PARAMETERS  # local Redis only: MemoryDB uses IAM tokens


def test_the_task_definition_sets_exactly_the_variables_declared_as_set_by_the_stack(synthesized):
    stack = synthesized["session-dev"]
    (task,) = stack["resource"]["aws_ecs_task_definition"].values()
    (definition,) = json.loads(task["container_definitions"])
    names = {e["name"] for e in definition["environment"]} | {s["name"] for s in definition.get("secrets", [])}
    names.discard("SESSION_CONFIG_DIGEST")  # not configuration: makes a changed value roll the tasks
    plane = {"SESSION_APP_PLANE_PORT", "SESSION_TRUSTED_CALLER_ARNS"}  # set only with the plane on (off in dev)
    assert names == {s.env for s in contract.SETTINGS if s.stack_sets} - plane


def test_every_declared_attribute_is_a_field_of_the_services_settings():
    fields = {f.name for f in dataclasses.fields(Settings)}
    assert {s.attr for s in contract.SETTINGS if s.attr} <= fields
    assert len({s.env for s in contract.SETTINGS}) == len(contract.SETTINGS)


def test_localdev_builds_an_environment_the_service_accepts():
    from localdev.runtime import Instance, service_environment

    class Cluster:
        def client_env(self):
            return {"SESSION_STORE_ENDPOINT": "127.0.0.1", "SESSION_STORE_TLS": "false"}

    env = service_environment(Cluster(), Instance("app-1", 18080, "/nonexistent.pid"), idle_timeout=120)
    settings = Settings.from_env(env, use_parameter_store=False)
    assert (settings.idle_timeout, settings.http_port, settings.served_by_header) == (120, 18080, True)


@pytest.mark.parametrize(("values", "words"), [
    ({"SESSION_WORKERS": 0}, "SESSION_WORKERS = 0: must be 1-64"),
    ({"SESSION_IDLE_TIMEOUT_SECONDS": 1}, "SESSION_IDLE_TIMEOUT_SECONDS = 1: must be 2-2592000 seconds"),
    ({"SESSION_NO_SUCH_THING": 1}, "not variables of the session service: SESSION_NO_SUCH_THING"),
])
def test_an_environment_built_from_the_contract_refuses_what_the_service_would(values, words):
    with pytest.raises(contract.ContractError) as raised:
        contract.environment(values)
    assert words in str(raised.value)


def test_the_docs_table_is_current():
    assert contract.table() in (ROOT / "docs" / "configuration.md").read_text(), \
        "docs/configuration.md is stale: run `python -m app.contract --write-doc`"


def test_the_stacks_plain_environment_is_one_the_service_accepts_also_with_the_plane_on():
    from stacks.contract import plain_environment

    arn = "arn:aws:iam::123456789012:role/backend"
    service = dataclasses.replace(BASE.service, app_plane_port=9000, trusted_caller_arns=(arn,))
    env = {**plain_environment(dataclasses.replace(BASE, service=service)),
           "SESSION_STORE_ENDPOINT": "clustercfg.example.internal"}
    settings = Settings.from_env(env, use_parameter_store=False)
    assert (settings.app_plane_port, settings.trusted_caller_arns, settings.http_port) == (9000, (arn,), 8080)
    assert (settings.environment, settings.require_https, settings.max_payload_bytes) == ("dev", False, 4096)


def test_rendering_through_the_contract_refuses_what_the_service_would():
    from stacks.contract import app_plane_environment

    with pytest.raises(contract.ContractError, match="SESSION_TRUSTED_CALLER_ARNS"):
        app_plane_environment(9000, ("arn:aws:iam::123:role/x",))
