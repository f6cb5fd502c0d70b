"""The Flask SessionInterface on the real TLS cluster (ACL user): Flask's contract, laziness,
cookie settings, sign-in with a new id, and attacks (forged cookies, fixation, resurrection)."""

from __future__ import annotations

from memorydb_sessions import SessionPolicy, tokens
from memorydb_sessions.flask import MemoryDBSessionInterface
from memorydb_sessions.sync import SyncSessionStore
from tests.cluster_fixture import SHARED_CORE_TIMEOUTS

from .conftest import make_app

COOKIE = "session"


def cookie_of(client) -> str | None:
    c = client.get_cookie(COOKIE)
    return c.value if c else None


def test_empty_unmodified_session_creates_nothing_and_sets_no_cookie(app, store):
    c = app.test_client()
    r = c.get("/read")
    assert r.json == {"n": None, "user": None}
    assert "Set-Cookie" not in r.headers and store.calls == []


def test_untouched_session_costs_no_store_call(app, store):
    c = app.test_client()
    c.get("/write?n=1")
    store.calls.clear()
    r = c.get("/healthz")
    assert r.status_code == 200 and store.calls == [] and "Set-Cookie" not in r.headers


def test_written_then_read_and_saved_only_when_modified(app, store):
    c = app.test_client()
    c.get("/write?n=5")
    token = cookie_of(c)
    assert tokens.is_token(token)
    store.calls.clear()
    assert c.get("/read").json["n"] == "5"
    assert store.calls == ["read"]  # a read writes nothing
    c.get("/write?n=6")
    assert cookie_of(c) == token and c.get("/read").json["n"] == "6"


def test_nested_change_is_saved_only_when_flagged(app):
    c = app.test_client()
    c.get("/nested?v=a&flag=1")
    c.get("/nested?v=b")  # not flagged: Flask's rule, not saved
    assert c.get("/nested?v=c&flag=1").json == {"items": ["a", "c"]}


def test_cleared_session_is_deleted_and_its_cookie_cleared(app, sync_store):
    c = app.test_client()
    c.get("/write?n=1")
    token = cookie_of(c)
    r = c.get("/clear")
    assert "Expires=Thu, 01 Jan 1970" in r.headers["Set-Cookie"]
    assert sync_store.read(token) is None


def test_flask_cookie_settings_are_honoured(store):
    app = make_app(store)
    app.config.update(SESSION_COOKIE_NAME="sid", SESSION_COOKIE_SECURE=True, SESSION_COOKIE_SAMESITE="Strict",
                      SESSION_COOKIE_DOMAIN="example.test", SESSION_COOKIE_PATH="/app")
    header = app.test_client().get("/write?n=1").headers["Set-Cookie"]
    assert header.startswith("sid=")
    for part in ("Secure", "HttpOnly", "SameSite=Strict", "Domain=example.test", "Path=/app"):
        assert part in header, (part, header)
    assert "Expires" not in header  # not permanent: a browser-session cookie


def test_permanent_cookie_never_outlives_the_core_session(store_config):
    store = SyncSessionStore(store_config, SessionPolicy(idle_timeout=600, absolute_lifetime=3600, store_timeout=10))
    app = make_app(store)  # PERMANENT_SESSION_LIFETIME is 31 days by default
    header = app.test_client().get("/write?n=1&permanent=1").headers["Set-Cookie"]
    from email.utils import parsedate_to_datetime
    import time
    expires = parsedate_to_datetime(header.split("Expires=")[1].split(";")[0]).timestamp()
    assert expires <= time.time() + 3600 + 1


def test_forged_cookie_never_reaches_the_store(app, store):
    c = app.test_client()
    c.set_cookie(COOKIE, "not-a-token' OR 1=1")
    assert c.get("/read").json == {"n": None, "user": None}
    assert store.calls == []


def test_sign_in_issues_a_new_token_and_ends_the_old_one(app, sync_store):
    c = app.test_client()
    c.get("/write?n=7")
    before = cookie_of(c)
    c.get("/login?user=flask-alice")
    after = cookie_of(c)
    assert after != before and sync_store.read(before) is None  # fixation: the planted id is dead
    assert c.get("/read").json == {"n": "7", "user": "flask-alice"}


def test_user_id_alone_loads_the_session(app):
    c = app.test_client()
    c.get("/login?user=flask-erin")
    assert c.get("/who").json == {"user": "flask-erin"}


def test_attacker_planted_token_does_not_become_signed_in(app):
    attacker = app.test_client()
    attacker.get("/write?n=x")
    planted = cookie_of(attacker)
    victim = app.test_client()
    victim.set_cookie(COOKIE, planted)
    victim.get("/login?user=victim")
    assert attacker.get("/read").json == {"n": None, "user": None}


def test_sign_out_everywhere_ends_the_other_browsers(app):
    a, b = app.test_client(), app.test_client()
    a.get("/login?user=flask-bob")
    b.get("/login?user=flask-bob")
    assert b.get("/mine").json == {"n": 2}
    assert a.get("/everywhere").json == {"ended": 2}
    assert b.get("/read").json == {"n": None, "user": None}
    assert a.get("/read").json == {"n": None, "user": None}


def test_stale_browser_write_does_not_resurrect_a_signed_out_session(app):
    a = app.test_client()
    a.get("/login?user=flask-carol")
    old = cookie_of(a)
    stale = app.test_client()
    stale.set_cookie(COOKIE, old)
    a.get("/everywhere")
    stale.get("/write?n=9")
    assert cookie_of(stale) != old  # a new anonymous session, not carol's back
    assert stale.get("/read").json == {"n": "9", "user": None}


def test_session_ended_between_load_and_save_is_not_resurrected(app, sync_store):
    from flask import session

    @app.get("/race")
    def race():
        session.get("n")  # loaded here
        sync_store.revoke_user(session.user_id)  # another request logs out everywhere meanwhile
        session["n"] = "after"
        return "ok"

    c = app.test_client()
    c.get("/login?user=flask-dave")
    old = cookie_of(c)
    r = c.get("/race")
    assert "Expires=Thu, 01 Jan 1970" in r.headers["Set-Cookie"]
    assert sync_store.read(old) is None


def test_rotate_keeps_data_under_a_new_token(app, sync_store):
    c = app.test_client()
    c.get("/write?n=3")
    before = cookie_of(c)
    c.get("/rotate")
    assert cookie_of(c) != before and sync_store.read(before) is None
    assert c.get("/read").json["n"] == "3"


def test_store_down_answers_503_not_500():
    from memorydb_sessions import StoreConfig
    down = SyncSessionStore(StoreConfig(host="127.0.0.1", port=1, tls=False, connect_timeout=0.1, socket_timeout=0.1),
                            SessionPolicy(store_timeout=0.5))
    app = make_app(down)
    c = app.test_client()
    assert c.get("/healthz").status_code == 200
    r = c.get("/write?n=1")
    assert r.status_code == 503 and r.headers["Retry-After"] == "1" and "Set-Cookie" not in r.headers
    c.set_cookie(COOKIE, tokens.new_token())
    assert c.get("/read").status_code == 503


def test_default_store_comes_from_the_environment(cluster, monkeypatch):
    for k, v in {**cluster.client_env(), **SHARED_CORE_TIMEOUTS}.items():
        monkeypatch.setenv(k, v)
    interface = MemoryDBSessionInterface()
    app = make_app(None)
    app.session_interface = interface
    c = app.test_client()
    assert c.get("/healthz").status_code == 200 and interface._store is None  # nothing built yet
    c.get("/write?n=2")
    assert c.get("/read").json["n"] == "2"
    interface.store.close()
