"""The scripted check `make demo` ends with: a session's whole life through the load balancer.

Create it through HAProxy, read it from every instance directly (any instance can serve any
session), rotate it (the old id dies), then revoke every session of the user.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

import httpx

from localdev.runtime import RuntimeState


class CheckFailed(AssertionError):
    pass


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def _cookie(response: httpx.Response) -> str:
    """`name=value` of the session cookie the response sets."""
    jar = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    _expect(len(jar) == 1, f"expected one session cookie, got {response.headers.get_list('set-cookie')}")
    (morsel,) = jar.values()
    return f"{morsel.key}={morsel.value}"


def run_check(state: RuntimeState, say=print) -> None:
    lb = state.load_balancer_url
    with httpx.Client(timeout=5) as http:
        created = http.post(f"{lb}/api/session", json={"data": {"cart": ["book"]}, "user_id": "demo-user"})
        _expect(created.status_code == 201, f"create: {created.status_code} {created.text}")
        cookie = _cookie(created)
        say(f"  created a session through the load balancer (served by {created.headers.get('x-served-by')})")

        for instance in state.instances:
            read = http.get(f"{instance.url}/api/session", headers={"cookie": cookie})
            _expect(read.status_code == 200 and read.json()["data"] == {"cart": ["book"]},
                    f"read from {instance.name}: {read.status_code} {read.text}")
        say(f"  read it back from every instance directly: {', '.join(i.name for i in state.instances)}")

        served_by = {http.get(f"{lb}/api/session", headers={"cookie": cookie}).headers.get("x-served-by")
                     for _ in range(2 * len(state.instances))}
        say(f"  reads through the load balancer were served by: {', '.join(sorted(filter(None, served_by)))}")

        rotated = http.post(f"{lb}/api/session/rotate", headers={"cookie": cookie})
        _expect(rotated.status_code == 200, f"rotate: {rotated.status_code} {rotated.text}")
        new_cookie = _cookie(rotated)
        _expect(new_cookie != cookie, "rotate kept the same id")
        old = http.get(f"{lb}/api/session", headers={"cookie": cookie})
        _expect(old.status_code == 401, f"the old id still works after rotation: {old.status_code}")
        say("  rotated it: the new id reads the same data, the old id is gone (401)")

        revoked = http.delete(f"{lb}/api/users/demo-user/sessions", headers={"cookie": new_cookie})
        _expect(revoked.status_code in (200, 204), f"revoke: {revoked.status_code} {revoked.text}")
        after = http.get(f"{lb}/api/session", headers={"cookie": new_cookie})
        _expect(after.status_code == 401, f"session still alive after revocation: {after.status_code}")
        say("  revoked every session of the user (log out everywhere): reads now answer 401")
