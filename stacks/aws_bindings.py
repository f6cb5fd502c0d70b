"""Load only the AWS provider bindings the stacks use, under either toolchain (stacks/toolchain.py).

`cdktf_cdktf_provider_aws/__init__.py` (20.x) imports all ~2,100 of its submodules, so a plain
`from cdktf_cdktf_provider_aws.vpc import Vpc` costs 15-20 s before anything happens. We
register the package in `sys.modules` *without* running that `__init__` (it only does
`from . import <every submodule>`), then load the jsii assembly through the package's own
`_jsii` module. Regular `from cdktf_cdktf_provider_aws.<submodule> import X` statements then
load just that submodule.

jsii sometimes turns an object coming back from Node into a Python class whose submodule was
never imported. The jsii runtime resolves such a type by importing the module registered for
its FQN prefix, so we register every submodule ("@cdktf/provider-aws.memorydbCluster" ->
"cdktf_cdktf_provider_aws.memorydb_cluster"), and attribute access on the package imports
on demand (PEP 562). The Node side has the same problem (the package's lib/index.js requires
every submodule when the kernel loads the assembly); `lazy_provider_require.js`, preloaded into
the kernel's Node process, makes those requires lazy as well. `tests/infra/test_aws_bindings.py` proves the output byte-identical
to the documented import.

Under cdktn the package is `cdktn_provider_aws` (25.x: its Python `__init__` is lazy already, but
Node still requires all ~2,400 submodules) and the assembly `@cdktn/provider-aws`; the same
steps apply to it, and the same test runs in the cdktn venv.

Set SESSION_EAGER_PROVIDER_IMPORT=1 to use the documented import instead (benchmarks).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from stacks import toolchain as _toolchain

EAGER_VARIABLE = "SESSION_EAGER_PROVIDER_IMPORT"


def install() -> ModuleType:
    """Make the toolchain's provider package importable lazily; idempotent."""
    package_name = _toolchain.current().provider
    if package_name in sys.modules:
        return sys.modules[package_name]
    if os.environ.get(EAGER_VARIABLE) == "1":
        return importlib.import_module(package_name)
    spec = importlib.util.find_spec(package_name)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{package_name} is not installed: run `make install` (pipenv sync --dev)")
    _preload_lazy_node_index()
    package = importlib.util.module_from_spec(spec)  # a package object; its __init__ is not run
    package.__getattr__ = _import_submodule  # type: ignore[attr-defined]
    sys.modules[package_name] = package
    # The assembly itself is loaded into the jsii kernel by the first submodule import (each
    # does `from .._jsii import *`), so importing settings alone never starts Node.
    _register_submodules(Path(next(iter(spec.submodule_search_locations))))
    return package


def _preload_lazy_node_index() -> None:
    """Have the jsii kernel's Node process require provider submodules on demand, too.

    Must run before the kernel starts (the first jsii import); `stacks/__init__.py` is the
    first thing main.py and the tests import.
    """
    script = Path(__file__).with_name("lazy_provider_require.js")
    option = f"--require={script}"
    current = os.environ.get("NODE_OPTIONS", "")
    if option not in current:
        os.environ["NODE_OPTIONS"] = f"{current} {option}".strip()


def _import_submodule(name: str) -> ModuleType:
    if name.startswith("__"):
        raise AttributeError(name)
    package = _toolchain.current().provider
    try:
        return importlib.import_module(f"{package}.{name}")
    except ModuleNotFoundError as error:
        raise AttributeError(f"module {package!r} has no attribute {name!r}") from error


def _register_submodules(package_dir: Path) -> None:
    from jsii import _reference_map  # the runtime's own lazy-loading hook

    package, assembly = _toolchain.current().provider, _toolchain.current().assembly

    _reference_map._submodule_fqn_map.update(
        {
            f"{assembly}.{_jsii_name(entry.name)}": f"{package}.{entry.name}"
            for entry in package_dir.iterdir()
            if entry.is_dir() and not entry.name.startswith("_")
        }
    )


def _jsii_name(python_name: str) -> str:
    """`memorydb_cluster` -> `memorydbCluster` (jsii's submodule naming)."""
    head, *rest = python_name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)
