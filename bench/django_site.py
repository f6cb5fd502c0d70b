"""The Django project that ``bench.django_sessions`` serves: settings, URLs and views in
one module (``DJANGO_SETTINGS_MODULE=bench.django_site``).  ``BENCH_ENGINE`` picks the
sessions: ``memorydb`` (this library), ``cache`` (Django's cache engine on one Redis node,
``BENCH_REDIS_URL``) or ``none`` (no session middleware)."""

import os

from django.http import HttpResponse, JsonResponse
from django.urls import path

ENGINE = os.environ.get("BENCH_ENGINE", "memorydb")
SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = __name__
DATABASES: dict = {}
INSTALLED_APPS: list = []
USE_TZ = True
MIDDLEWARE = {"memorydb": ["memorydb_sessions.django.SessionMiddleware"],
              "cache": ["django.contrib.sessions.middleware.SessionMiddleware"], "none": []}[ENGINE]
if ENGINE == "memorydb":
    SESSION_ENGINE = "memorydb_sessions.django"  # the SESSION_STORE_* environment
elif ENGINE == "cache":
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": os.environ.get("BENCH_REDIS_URL", ""),
                          "OPTIONS": {"ssl_ca_certs": os.environ.get("BENCH_REDIS_CA")}}}


def healthz(request):
    return HttpResponse("ok")


def make(request):
    request.session["cart"] = ["book", "pen"]
    request.session["visits"] = 1
    return HttpResponse("made")


def read(request):
    # The session read under test; without sessions the same answer from nothing.
    data = {"cart": request.session.get("cart")} if hasattr(request, "session") else {"cart": None}
    return JsonResponse(data)


urlpatterns = [path("healthz", healthz), path("make", make), path("read", read)]
