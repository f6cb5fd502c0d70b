"""`make demo`'s scripted check: the whole life of a session through HAProxy, as the demo
runs it (anonymous, a refused claim, sign-in with a new id, a second device, my sessions,
end the other device, step-up, rotate, sign out everywhere)."""

from __future__ import annotations

from localdev.check import run_check


def test_the_demo_check_walks_the_whole_life_of_a_session(runtime):
    said: list[str] = []
    run_check(runtime.state, say=said.append)
    assert any("signed in as alice" in line for line in said)
    assert said[-1].strip().startswith("signed out everywhere")
