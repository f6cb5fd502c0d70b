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
    """The whole life of a session through the load balancer, as a browser's script does it."""
    from localdev.runtime import DEMO_USERS

    lb = state.load_balancer_url
    user, password = next(iter(DEMO_USERS.items()))
    marked = {"X-Session-Request": "1"}  # what the page's script sends (the API's forgery check)
    with httpx.Client(timeout=10, headers=marked) as http:
        created = http.post(f"{lb}/api/session", json={"data": {"cart": ["book"]}})
        _expect(created.status_code == 201, f"create: {created.status_code} {created.text}")
        anonymous = _cookie(created)
        say(f"  anonymous session with a cart (served by {created.headers.get('x-served-by')})")

        for instance in state.instances:
            read = http.get(f"{instance.url}/api/session", headers={"cookie": anonymous})
            _expect(read.status_code == 200 and read.json()["data"] == {"cart": ["book"]},
                    f"read from {instance.name}: {read.status_code} {read.text}")
        say(f"  read it back from every instance directly: {', '.join(i.name for i in state.instances)}")

        claim = http.post(f"{lb}/api/session", json={"user_id": user})
        _expect(claim.status_code == 422, f"a browser claimed an identity: {claim.status_code}")
        say(f"  claiming to be {user} without signing in is refused (422)")

        signed = http.post(f"{lb}/api/sign-in", json={"username": user, "password": password},
                           headers={"cookie": anonymous})
        _expect(signed.status_code == 201, f"sign-in: {signed.status_code} {signed.text}")
        laptop = _cookie(signed)
        _expect(laptop != anonymous and signed.json()["data"] == {"cart": ["book"]}, "sign-in kept the old id or lost the cart")
        old = http.get(f"{lb}/api/session", headers={"cookie": anonymous})
        _expect(old.status_code == 401, f"the anonymous id still works after sign-in: {old.status_code}")
        say(f"  signed in as {user}: a new id, the cart came along, the anonymous id is gone (401)")

        phone = _cookie(http.post(f"{lb}/api/sign-in", json={"username": user, "password": password},
                                  headers={"user-agent": "Mozilla/5.0 (iPhone) Safari/604"}))
        listed = http.get(f"{lb}/api/sessions", headers={"cookie": laptop}).json()["sessions"]
        _expect(len(listed) == 2, f"my sessions: expected 2, got {listed}")
        other = next(s for s in listed if not s["current"])
        say(f"  a second device signed in; my sessions: {', '.join(s['user_agent'] for s in listed)}")
        ended = http.delete(f"{lb}/api/sessions/{other['handle']}", headers={"cookie": laptop})
        _expect(ended.status_code == 204, f"end the other device: {ended.status_code} {ended.text}")
        _expect(http.get(f"{lb}/api/session", headers={"cookie": phone}).status_code == 401, "the ended device still works")
        say("  ended the other device by its handle: it answers 401 now")

        step_up = http.post(f"{lb}/api/step-up", json={"password": password}, headers={"cookie": laptop})
        _expect(step_up.status_code == 200, f"step-up: {step_up.status_code} {step_up.text}")
        rotated = http.post(f"{lb}/api/session/rotate", headers={"cookie": laptop})
        _expect(rotated.status_code == 200, f"rotate: {rotated.status_code} {rotated.text}")
        laptop = _cookie(rotated)
        say("  stepped up (fresh password check) and rotated the id")

        revoked = http.delete(f"{lb}/api/users/me/sessions", headers={"cookie": laptop})
        _expect(revoked.status_code == 200, f"sign out everywhere: {revoked.status_code} {revoked.text}")
        after = http.get(f"{lb}/api/session", headers={"cookie": laptop})
        _expect(after.status_code == 401, f"session still alive after sign-out everywhere: {after.status_code}")
        say("  signed out everywhere: every session of the user answers 401")
