"""Read environment settings from `config/*.toml` into `EnvironmentSettings`.

Layering, later wins: the defaults in `stacks.settings`, then `config/common.toml`
(project, region, state backend, list of environments), then `config/<env>.toml`.
Unknown keys and wrong types are errors that name the file and the field, so a typo
never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from pathlib import Path
from typing import Any, Mapping

from stacks.settings import EnvironmentSettings
from stacks.validation import InvalidSettings, SettingProblem, validate

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
CONFIG_DIR_VARIABLE = "SESSION_CONFIG_DIR"
DEFAULT_ENVIRONMENTS = ("dev", "staging", "prod")
# Settings that moved: the old key is an error that names the new one.
MOVED = {"load_balancer.health_check_path": "service.health_check_path"}


def config_dir() -> Path:
    """The settings folder: `config/`, or the one `SESSION_CONFIG_DIR` names."""
    return Path(os.environ.get(CONFIG_DIR_VARIABLE) or DEFAULT_CONFIG_DIR)


def environment_names(directory: Path | None = None) -> tuple[str, ...]:
    common = _read_toml(Path(directory or config_dir()) / "common.toml")
    names = common.get("environments", list(DEFAULT_ENVIRONMENTS))
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or not names:
        raise InvalidSettings(
            [SettingProblem("*", "environments", names, "must be a non-empty list of names")]
        )
    problems = [SettingProblem("*", "environments", name, "is listed more than once (each environment is one stack)")
                for name in sorted({n for n in names if names.count(n) > 1})]
    problems += _files_match(Path(directory or config_dir()), names)
    if problems:
        raise InvalidSettings(problems)
    return tuple(names)


def _files_match(directory: Path, names: list[str]) -> list[SettingProblem]:
    """Every listed environment has its file: a typo in the list would otherwise synthesize an
    environment of defaults only (and a typo in a file name would drop that file's settings)."""
    files = _environment_files(directory)
    return [SettingProblem("*", "environments", name, f"has no file {directory / (name + '.toml')}")
            for name in names if name not in files]


def _environment_files(directory: Path) -> set[str]:
    return {path.stem for path in directory.glob("*.toml")} - {"common"}


def unlisted_environment_files(directory: Path | None = None) -> list[str]:
    """`<env>.toml` files the list leaves out: legal (synthesizing a subset), but said at every
    synthesis, since it may also be a name typed differently in the two places."""
    directory = Path(directory or config_dir())
    return sorted(_environment_files(directory) - set(environment_names(directory)))


def load_environment(name: str, directory: Path | None = None) -> EnvironmentSettings:
    """Settings of environment `name`, validated; raises `InvalidSettings` with every problem."""
    directory = Path(directory or config_dir())
    common = {k: v for k, v in _read_toml(directory / "common.toml").items() if k != "environments"}
    merged = _deep_merge(common, _read_toml(directory / f"{name}.toml"))
    problems: list[SettingProblem] = []
    settings = _build(EnvironmentSettings, {**merged, "name": name}, name, "", problems)
    if problems:
        raise InvalidSettings(problems)
    validate(settings)
    return settings


def load_all(directory: Path | None = None) -> list[EnvironmentSettings]:
    """Every environment's settings; problems of all environments are reported together."""
    problems: list[SettingProblem] = []
    loaded: list[EnvironmentSettings] = []
    for name in environment_names(directory):
        try:
            loaded.append(load_environment(name, directory))
        except InvalidSettings as error:
            problems.extend(error.problems)
    problems += _one_state_bucket(loaded)
    if problems:
        raise InvalidSettings(problems)
    return loaded


def _one_state_bucket(environments: list[EnvironmentSettings]) -> list[SettingProblem]:
    """`session-bootstrap` creates one bucket, the first environment's (stacks/app.py), and keeps
    its state where that environment says: a bucket set per environment would never be created
    and `terraform init` would fail on it."""
    if not environments:
        return []
    first = environments[0].backend
    return [SettingProblem(s.name, f"backend.{field}", getattr(s.backend, field),
                           f"must be {getattr(first, field)!r} like every environment: session-bootstrap creates "
                           "only one state bucket and keeps one state of its own (set [backend] in config/common.toml)")
            for s in environments[1:] for field in ("state_bucket", "state_region", "bootstrap_state")
            if getattr(s.backend, field) != getattr(first, field)]


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise InvalidSettings([SettingProblem("*", str(path), "", f"is not valid TOML: {error}")])


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _build(cls: type, data: Mapping[str, Any], env: str, path: str, problems: list[SettingProblem]) -> Any:
    """Instantiate dataclass `cls` from `data`, recording type problems instead of raising."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key in known:
            continue
        moved = MOVED.get(f"{path}{key}")
        rule = f"has moved to {moved}" if moved else f"is not a known setting (known: {', '.join(sorted(known))})"
        problems.append(SettingProblem(env, f"{path}{key}", data[key], rule))
    values: dict[str, Any] = {}
    for item in dataclasses.fields(cls):
        if item.name not in data:
            continue
        kind = hints[item.name]
        if dataclasses.is_dataclass(kind):
            raw = data[item.name]
            if not isinstance(raw, dict):
                problems.append(SettingProblem(env, f"{path}{item.name}", raw, "must be a table"))
                continue
            values[item.name] = _build(kind, raw, env, f"{path}{item.name}.", problems)
            continue
        converted, rule = _convert(data[item.name], kind)
        if rule:
            problems.append(SettingProblem(env, f"{path}{item.name}", data[item.name], rule))
        else:
            values[item.name] = converted
    return cls(**values)


def _convert(value: Any, kind: Any) -> tuple[Any, str | None]:
    """Return (converted value, None) or (None, rule that `value` breaks)."""
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin is typing.Union:  # Optional[X]
        inner = [a for a in args if a is not type(None)][0]
        return _convert(value, inner) if value not in (None, "") else (None, None)
    if origin is typing.Literal:
        return (value, None) if value in args else (None, f"must be one of {', '.join(map(repr, args))}")
    if origin is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None, "must be a list of strings"
        return tuple(value), None
    if origin is dict:  # a table of plain values: strings, numbers, booleans (as their TOML text)
        if not isinstance(value, dict):
            return None, "must be a table"
        if not all(isinstance(v, (str, int, float)) for v in value.values()):  # bool is an int
            return None, "must be a table of strings, numbers or booleans"
        return {k: (("true" if v else "false") if isinstance(v, bool) else str(v)) for k, v in value.items()}, None
    if kind is bool:
        return (value, None) if isinstance(value, bool) else (None, "must be true or false")
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return (value, None) if ok else (None, "must be a whole number")
    if kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return (float(value), None) if ok else (None, "must be a number")
    if kind is str:
        return (value, None) if isinstance(value, str) else (None, "must be a string")
    raise TypeError(f"unsupported settings type {kind!r}")
