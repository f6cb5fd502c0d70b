"""Django configured for the integration's tests: the engine under test, Django's own
``sessions_tests`` app (its models module is imported by its tests), no database use
(the tests are ``SimpleTestCase``s), and the store pointed at the suite's cluster."""

from __future__ import annotations

import sys

import django
import pytest
from django.conf import settings
from django.test.utils import override_settings

from tests.cluster_fixture import SHARED_CORE_TIMEOUTS

from .django_source import sessions_tests_path

if str(sessions_tests_path()) not in sys.path:
    sys.path.append(str(sessions_tests_path()))

if not settings.configured:
    settings.configure(
        SECRET_KEY="tests-only-not-secret",
        USE_TZ=True,
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions",
                        "sessions_tests"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        SESSION_ENGINE="memorydb_sessions.django",
        MIDDLEWARE=["memorydb_sessions.django.SessionMiddleware"],
        ROOT_URLCONF="tests.lib.django.urls",
        ALLOWED_HOSTS=["testserver"],
        MEMORYDB_SESSIONS={"SESSION_STORE_ENDPOINT": "unset.invalid"},  # replaced by `django_store` below
    )
    django.setup()


def cluster_settings(cluster, **extra) -> dict:
    """MEMORYDB_SESSIONS for the suite's cluster. Django's tests expect the default
    SESSION_COOKIE_AGE (14 days) back from get_expiry_age(): the core's idle timeout must
    not be shorter, or its cap (tested on its own) would show."""
    values = {k: v for k, v in cluster.client_env().items()}
    values.update(SHARED_CORE_TIMEOUTS, SESSION_IDLE_TIMEOUT_SECONDS=14 * 86400,
                  SESSION_ABSOLUTE_LIFETIME_SECONDS=28 * 86400)
    values.update(extra)
    return values


@pytest.fixture(scope="session", autouse=True)
def django_store(cluster):
    override = override_settings(MEMORYDB_SESSIONS=cluster_settings(cluster))
    override.enable()
    try:
        yield
    finally:
        override.disable()
