"""Sign in, see who you are, change your password (ends your other sessions), list your
sessions, log out, log out everywhere.  Users: a tiny in-memory list with scrypt hashes."""

from __future__ import annotations

import hashlib
import hmac
import os
from html import escape

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.urls import path
from django.views.decorators.http import require_POST

from memorydb_sessions import django as sessions


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)


_SALT = os.urandom(16)
USERS = {"alice": _hash("correct horse", _SALT), "bob": _hash("battery staple", _SALT)}


def _page(request: HttpRequest, body: str) -> HttpResponse:
    token = escape(get_token(request))
    form = lambda action, label, extra="": (  # noqa: E731
        f'<form method="post" action="{action}"><input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
        f"{extra}<button>{label}</button></form>")
    user = request.session.get("_auth_user_id")
    if user is None:
        body += form("/login", "Sign in", '<input name="username"> <input name="password" type="password">')
    else:
        body += form("/password", "Change password", '<input name="password" type="password">')
        body += form("/logout", "Log out") + form("/logout-everywhere", "Log out everywhere")
    return HttpResponse(f"<!doctype html><title>Django on MemoryDB</title>{body}")


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok\n", content_type="text/plain")  # never touches the store


def home(request: HttpRequest) -> HttpResponse:
    user = request.session.get("_auth_user_id")
    if user is None:
        return _page(request, "<p>Not signed in.</p>")
    items = "".join(f"<li>{escape(s.handle[:8])}… since {s.created_at:.0f}{' (this one)' if s.current else ''}</li>"
                    for s in sessions.list_sessions(request))
    return _page(request, f"<p>Signed in as {escape(user)}.</p><ul>{items}</ul>")


@require_POST
def login(request: HttpRequest) -> HttpResponse:
    name, password = request.POST.get("username", ""), request.POST.get("password", "")
    expected = USERS.get(name)
    if expected is None or not hmac.compare_digest(_hash(password, _SALT), expected):
        return HttpResponse("wrong username or password\n", status=401, content_type="text/plain")
    # What django.contrib.auth.login() does with the session: cycle the key, then name the
    # user; the engine then binds a NEW token in the user's slot (memorydb_sessions/README.md).
    request.session.cycle_key()
    request.session["_auth_user_id"] = name
    return HttpResponseRedirect("/")


@require_POST
def change_password(request: HttpRequest) -> HttpResponse:
    name = request.session.get("_auth_user_id")
    if name is None:
        return HttpResponse(status=401)
    USERS[name] = _hash(request.POST.get("password", ""), _SALT)
    request.session.cycle_key()
    sessions.end_other_sessions(request)  # every other device must sign in again
    return HttpResponseRedirect("/")


@require_POST
def log_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponseRedirect("/")


@require_POST
def log_out_everywhere(request: HttpRequest) -> HttpResponse:
    sessions.log_out_everywhere(request)
    return HttpResponseRedirect("/")


urlpatterns = [
    path("", home), path("healthz", healthz), path("login", login), path("password", change_password),
    path("logout", log_out), path("logout-everywhere", log_out_everywhere),
]
