"""The service's run-time packages come from the lock by a rule that cannot drift.

app/Dockerfile installs exactly the lock's `service-packages` category (with hashes). These
tests prove that category is what the development venv runs the app tests with, and that it
is complete for what app/ imports. (The image's own contents are checked against the same
category in test_container.py.)
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import sys
import tomllib
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = json.loads((ROOT / "Pipfile.lock").read_text())
PIPFILE = tomllib.loads((ROOT / "Pipfile").read_text())
SERVICE = LOCK["service-packages"]


def applies(entry: dict, environment: dict | None = None) -> bool:
    return "markers" not in entry or Marker(entry["markers"]).evaluate(environment)


def test_service_packages_are_pinned_exactly_and_anchor_the_default_category():
    """pipenv resolves every category against the default one; the service's pins are there
    too, so a bump in one place only fails `pipenv lock` instead of splitting the versions."""
    service = PIPFILE["service-packages"]
    assert service
    for name, spec in service.items():
        version = spec if isinstance(spec, str) else spec["version"]
        assert version.startswith("==") and "*" not in version, f"{name}: {version} is not an exact pin"
        assert PIPFILE["packages"].get(name) == spec, f"[packages] must pin {name} as [service-packages] does"


def test_locked_service_packages_equal_the_other_categories():
    for name, entry in SERVICE.items():
        for category in ("default", "develop"):
            other = LOCK[category].get(name)
            if other is not None:
                assert other["version"] == entry["version"], f"{name}: {category} {other['version']} != {entry['version']}"
                assert other["hashes"] == entry["hashes"], f"{name}: {category} has other hashes"
        assert name in LOCK["default"], f"{name} is in the image but not in the development venv's category"


def test_the_development_venv_has_the_locked_versions():
    checked = 0
    for name, entry in SERVICE.items():
        if not applies(entry):
            continue
        assert importlib.metadata.version(name) == entry["version"].removeprefix("=="), name
        checked += 1
    assert checked >= len(PIPFILE["service-packages"]) - 1


def third_party_imports() -> set[str]:
    modules: set[str] = set()
    # The service's image holds app/ and the session core; the framework integrations of the
    # core (django, flask, asgi) are the library's extras and never imported by the service.
    integrations = {"django.py", "flask.py", "asgi.py"}
    paths = [*(ROOT / "app").glob("*.py"),
             *(p for p in (ROOT / "memorydb_sessions").glob("*.py") if p.name not in integrations)]
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return {m for m in modules if m not in sys.stdlib_module_names and m not in ("app", "memorydb_sessions")}


def test_app_imports_nothing_outside_the_service_category():
    providers = importlib.metadata.packages_distributions()
    imported = third_party_imports()
    assert {"uvicorn", "redis", "botocore", "orjson"} <= imported  # the scan sees them
    for module in sorted(imported):
        distributions = {canonicalize_name(d) for d in providers.get(module, [])}
        assert distributions & {canonicalize_name(n) for n in SERVICE}, (
            f"app/ imports {module} ({', '.join(sorted(distributions)) or 'not installed'}), "
            "which is not in [service-packages]: the image would not have it")
