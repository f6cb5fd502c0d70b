"""A small Django project whose sessions live in MemoryDB / Redis Cluster.

The store is configured from the SESSION_* environment, exactly as the stack configures the
session service (docs/container-contract.md); MEMORYDB_SESSIONS may override any of it."""

import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or os.urandom(32).hex()  # sessions are server-side: no signed data
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "*").split(",")
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]  # login()/logout(); no database used
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "memorydb_sessions.django.SessionMiddleware",  # Django's, plus 503 while the store fails over
    "django.middleware.csrf.CsrfViewMiddleware",
]
ROOT_URLCONF = "example.views"
DATABASES: dict = {}
USE_TZ = True

SESSION_ENGINE = "memorydb_sessions.django"
SESSION_COOKIE_SECURE = os.environ.get("DJANGO_INSECURE_COOKIES") != "1"  # the ALB terminates TLS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_USE_SESSIONS = True  # the CSRF secret lives in the server-side session too
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("DJANGO_TRUSTED_ORIGINS", "").split(",") if o]
