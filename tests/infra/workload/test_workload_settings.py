"""Synth-time rules added with the workload: IAM-only store auth, safe access strings, names."""

from __future__ import annotations

from dataclasses import replace

import pytest

from stacks.config_loader import load_environment
from stacks.validation import InvalidSettings, validate


def with_store(**changes):
    settings = load_environment("dev")
    return replace(settings, session_store=replace(settings.session_store, **changes))


def problems(settings) -> list[str]:
    try:
        validate(settings)
    except InvalidSettings as error:
        return [p.field for p in error.problems]
    return []


def test_defaults_are_valid():
    assert problems(load_environment("prod")) == []


def test_password_mode_is_rejected_because_it_would_reach_state():
    assert problems(with_store(auth_mode="password")) == ["session_store.auth_mode"]


@pytest.mark.parametrize("access", [
    "on ~* &* +@all >hunter2", "on nopass ~* +@all", "off ~sess:* +@all", "on ~* +@dangerous", "",
])
def test_unsafe_access_strings_are_rejected(access):
    assert problems(with_store(access_string=access)) == ["session_store.access_string"]


def test_access_string_may_be_widened_safely():
    assert problems(with_store(access_string="on ~sess:* ~usess:* ~rl:* &* +@all -@dangerous")) == []


def test_long_names_are_caught_before_synthesis():
    """The longest project and environment names: the 32-character ALB limit binds first; the
    access log bucket (with its 12-digit account ID) still fits S3's 63 characters."""
    settings = replace(load_environment("dev"), project="a-very-long-project1", name="integration1")
    fields = problems(settings)
    assert "project/name -> load balancer name" in fields
    assert "project/name -> access log bucket name" not in fields
    assert "project/name -> ECR repository name" not in fields
