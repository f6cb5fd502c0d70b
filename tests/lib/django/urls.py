"""Views of the integration tests: what an application's sign-in, password change and
"log out everywhere" do with the session."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path

from memorydb_sessions import django as mds


def login(request: HttpRequest) -> JsonResponse:
    # What django.contrib.auth.login() does with the session: cycle the key, then bind.
    request.session.cycle_key()
    request.session["_auth_user_id"] = request.GET["user"]
    return JsonResponse({"ok": True})


def login_raced(request: HttpRequest) -> JsonResponse:
    # The password was checked, then "log out everywhere" ran on another device before the
    # session was bound (the middleware saves after the view).
    request.session.cycle_key()
    request.session["_auth_user_id"] = request.GET["user"]
    mds.get_store().revoke_user(request.GET["user"])
    return JsonResponse({"ok": True})


class _Pk:
    def value_to_string(self, user) -> str:
        return str(user.pk)


class _StubUser:
    """Just what django.contrib.auth.login() reads of a user (no database)."""

    _meta = type("Meta", (), {"pk": _Pk()})()
    last_login = None

    def __init__(self, pk: int) -> None:
        self.pk = pk

    def get_session_auth_hash(self) -> str:
        return f"hash-{self.pk}"

    def save(self, **kwargs) -> None:  # update_last_login saves last_login
        pass


def auth_login(request: HttpRequest) -> JsonResponse:
    from django.contrib.auth import login as django_login

    django_login(request, _StubUser(int(request.GET["pk"])), backend="django.contrib.auth.backends.ModelBackend")
    return JsonResponse({"ok": True})


def auth_logout(request: HttpRequest) -> JsonResponse:
    from django.contrib.auth import logout as django_logout

    django_logout(request)
    return JsonResponse({"ok": True})


def read(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"user": request.session.get("_auth_user_id"), "data": request.session.get("n")})


def write(request: HttpRequest) -> JsonResponse:
    request.session["n"] = request.GET["n"]
    return JsonResponse({"ok": True})


def password_changed(request: HttpRequest) -> JsonResponse:
    request.session.cycle_key()  # as django.contrib.auth.update_session_auth_hash does
    return JsonResponse({"ended": mds.end_other_sessions(request)})


class _User:
    def get_session_auth_hash(self) -> str:
        return "new-hash"


def password_changed_django(request: HttpRequest) -> JsonResponse:
    request.user = user = _User()  # as AuthenticationMiddleware would set it
    ended = mds.update_session_auth_hash(request, user)
    return JsonResponse({"ended": ended, "hash": request.session.get("_auth_user_hash")})


def everywhere(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ended": mds.log_out_everywhere(request)})


def sessions(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"sessions": [s.handle for s in mds.list_sessions(request)]})


urlpatterns = [
    path("login", login), path("auth-login", auth_login), path("auth-logout", auth_logout), path("login-raced", login_raced), path("read", read), path("write", write), path("password-changed", password_changed),
    path("password-changed-django", password_changed_django),
    path("everywhere", everywhere), path("sessions", sessions),
]
