"""Django's own session tests (``tests/sessions_tests``), which ship only in Django's source
distribution: the sdist is fetched once with pip (PyPI is the one source CI has) and cached
under .build/ (``make install`` fetches it too); its ``tests/sessions_tests`` is extracted and
put on ``sys.path`` so ``SessionTestsMixin`` can be imported as Django's own suite does."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parents[3]
VERSION = django.get_version()  # the installed Django: the tests must match the code they test
CACHE = ROOT / ".build" / "django-sdist"
SDIST = CACHE / f"django-{VERSION}.tar.gz"
TESTS = CACHE / f"django-{VERSION}" / "tests"


def sessions_tests_path() -> Path:
    """The directory holding Django's ``sessions_tests`` package (fetched if needed)."""
    if not (TESTS / "sessions_tests" / "tests.py").exists():
        if not SDIST.exists():
            CACHE.mkdir(parents=True, exist_ok=True)
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps",
                            f"django=={VERSION}", "-d", str(CACHE)], check=True, timeout=300)
        prefix = f"django-{VERSION}/tests/sessions_tests/"
        with tarfile.open(SDIST) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith(prefix) and m.isfile()]
            tar.extractall(CACHE, members=members, filter="data")
    return TESTS
