"""Which CDK toolchain synthesizes the stacks: the one place that decides it.

- `cdktf` (default, the design card's): cdktf 0.21.0 + cdktf-cdktf-provider-aws 20.x, which
  binds hashicorp/aws 5.100.0 (the version mirrored on offline machines). Pipfile.
- `cdktn`: CDK Terrain, the maintained fork of CDKTF: cdktn 0.24.0 + cdktn-provider-aws
  25.x, which binds hashicorp/aws 6.x. toolchains/cdktn/Pipfile (`make install TOOLCHAIN=cdktn`).

The toolchain is the one whose packages the running interpreter has (each has its own venv);
CDK_TOOLCHAIN=cdktf|cdktn picks one explicitly and fails clearly if it is not installed. The
stacks keep importing `cdktf` and `cdktf_cdktf_provider_aws`: under cdktn those names are
aliases of `cdktn` and `cdktn_provider_aws` (same class and submodule names, same logical ids;
docs/toolchains.md). Capabilities that only one provider line has are asked here
(`supports`), never guessed from versions elsewhere.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Literal, Optional, Sequence

VARIABLE = "CDK_TOOLCHAIN"
# The names the stacks import (the design card's packages).
CORE_ALIAS = "cdktf"
PROVIDER_ALIAS = "cdktf_cdktf_provider_aws"

Capability = Literal["ecs_blue_green", "s3_backend_use_lockfile"]


@dataclass(frozen=True)
class Toolchain:
    name: str
    core: str  # Python package of the CDK core
    provider: str  # Python package of the prebuilt AWS bindings
    assembly: str  # their jsii assembly (= npm package) name
    aws_major: int  # hashicorp/aws major version the bindings bind
    capabilities: frozenset[str]


CDKTF = Toolchain("cdktf", "cdktf", "cdktf_cdktf_provider_aws", "@cdktf/provider-aws", 5, frozenset())
CDKTN = Toolchain(
    "cdktn", "cdktn", "cdktn_provider_aws", "@cdktn/provider-aws", 6,
    # aws 6.4 added ECS native blue/green (deployment_configuration.strategy, bake_time_in_minutes,
    # load_balancer.advanced_configuration); cdktn's S3Backend has Terraform 1.10's use_lockfile.
    frozenset({"ecs_blue_green", "s3_backend_use_lockfile"}),
)
TOOLCHAINS = {t.name: t for t in (CDKTF, CDKTN)}
# What the stacks need of Terraform/OpenTofu: S3-native state locking (`use_lockfile`) is 1.10's.
# cdktn checks features against these at synth (its `targetVersions`, default >=1.5.7);
# cdktf 0.21 has no such check.
TARGET_VERSIONS = {"terraform": ">=1.10.0", "opentofu": ">=1.10.0"}


class ToolchainError(ImportError):
    """The chosen toolchain's packages are missing (raised while `stacks` is imported)."""


def _installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def detect(environ: Optional[dict[str, str]] = None) -> Toolchain:
    """CDK_TOOLCHAIN if set, else the toolchain whose packages this interpreter has."""
    environ = os.environ if environ is None else environ
    wanted = environ.get(VARIABLE, "").strip()
    if wanted:
        if wanted not in TOOLCHAINS:
            raise ToolchainError(f"{VARIABLE}={wanted!r}: must be one of {', '.join(TOOLCHAINS)}")
        chosen = TOOLCHAINS[wanted]
        if not (_installed(chosen.core) and _installed(chosen.provider)):
            raise ToolchainError(f"{VARIABLE}={wanted}: {chosen.core}/{chosen.provider} are not installed "
                                 f"in {sys.prefix}: run `make install TOOLCHAIN={wanted}` and use its venv")
        return chosen
    for candidate in (CDKTF, CDKTN):  # cdktf first: the default when both were installed
        if _installed(candidate.core) and _installed(candidate.provider):
            return candidate
    raise ToolchainError(f"neither cdktf nor cdktn is installed in {sys.prefix}: run `make install`")


_current: Optional[Toolchain] = None


def current() -> Toolchain:
    global _current
    if _current is None:
        _current = detect()
    return _current


def supports(capability: Capability) -> bool:
    return capability in current().capabilities


def app_context() -> dict[str, object]:
    """App context the toolchain reads (the cdktn CLI would pass cdktf.json's targetVersions)."""
    return {"targetVersions": TARGET_VERSIONS} if current() is CDKTN else {}


def install() -> Toolchain:
    """Decide the toolchain and, under cdktn, make the stacks' import names point at it; idempotent."""
    toolchain = current()
    if toolchain.core != CORE_ALIAS and not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder({CORE_ALIAS: toolchain.core, PROVIDER_ALIAS: toolchain.provider}))
    return toolchain


class _AliasFinder(importlib.abc.MetaPathFinder):
    """`cdktf[.x]` -> `cdktn[.x]`: the alias name is bound to the real module object, so each
    module exists once (jsii registers each class once, under its real module)."""

    def __init__(self, aliases: dict[str, str]) -> None:
        self._aliases = aliases

    def find_spec(self, fullname: str, path: Optional[Sequence[str]], target: Optional[ModuleType] = None):
        for alias, real in self._aliases.items():
            if fullname == alias or fullname.startswith(alias + "."):
                return importlib.machinery.ModuleSpec(fullname, _AliasLoader(real + fullname[len(alias):]))
        return None


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, real: str) -> None:
        self._real = real

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # a placeholder; exec_module swaps in the real module

    def exec_module(self, module: ModuleType) -> None:
        # importlib returns whatever sys.modules holds for the name after exec_module.
        sys.modules[module.__name__] = importlib.import_module(self._real)
