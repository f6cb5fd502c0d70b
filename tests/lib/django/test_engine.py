"""The engine through Django's request cycle (test client, our middleware) on the TLS
cluster: sign-in binds a NEW token in the user's slot, and the attacks it must stop."""

from __future__ import annotations

from django.conf import settings
from django.test import Client, SimpleTestCase, override_settings

from memorydb_sessions import tokens
from memorydb_sessions.django import SessionStore, get_store

COOKIE = settings.SESSION_COOKIE_NAME


def token_of(client: Client) -> str:
    return client.cookies[COOKIE].value


class SignInTests(SimpleTestCase):
    def signed_in(self, user: str = "alice") -> Client:
        c = Client()
        c.get("/write?n=1")
        c.get(f"/login?user={user}")
        return c

    def test_login_binds_a_new_token_in_the_users_slot(self):
        c = Client()
        c.get("/write?n=1")
        anonymous = token_of(c)
        c.get("/login?user=alice")
        bound = token_of(c)
        self.assertNotEqual(bound, anonymous)
        self.assertEqual(tokens.tag_of(bound), tokens.user_tag("alice"))
        self.assertEqual(get_store().read(bound).user_id, "alice")
        self.assertEqual(c.get("/read").json(), {"user": "alice", "data": "1"})
        self.assertIn(tokens.handle_of(bound), [s.handle for s in get_store().list_sessions("alice")])

    def test_django_auth_login_binds_and_switching_user_flushes_to_a_new_binding(self):
        c = Client()
        c.get("/write?n=1")
        anonymous = token_of(c)
        self.assertEqual(c.get("/auth-login?pk=41").status_code, 200)  # login(): cycle_key path
        first = token_of(c)
        self.assertNotEqual(first, anonymous)
        self.assertEqual(get_store().read(first).user_id, "41")
        self.assertEqual(c.get("/auth-login?pk=42").status_code, 200)  # another user: login() flushes
        second = token_of(c)
        self.assertEqual(get_store().read(second).user_id, "42")
        self.assertEqual(tokens.tag_of(second), tokens.user_tag("42"))
        self.assertIsNone(get_store().read(first))
        self.assertEqual(get_store().list_sessions("41"), [])
        self.assertEqual(c.get("/read").json(), {"user": "42", "data": None})  # flush dropped the data
        c.get("/auth-logout")
        self.assertIsNone(get_store().read(second))
        self.assertEqual(get_store().list_sessions("42"), [])

    def test_session_fixation_planted_token_is_dead_after_login(self):
        attacker = Client()
        attacker.get("/write?n=planted")
        planted = token_of(attacker)
        victim = Client()
        victim.cookies[COOKIE] = planted  # the attacker made the victim's browser use it
        victim.get("/login?user=victim")
        self.assertNotEqual(token_of(victim), planted)
        self.assertIsNone(get_store().read(planted))
        self.assertEqual(attacker.get("/read").json()["user"], None)

    def test_password_change_ends_the_other_sessions_only(self):
        laptop, phone = self.signed_in("bob"), self.signed_in("bob")
        self.assertEqual(phone.get("/read").json()["user"], "bob")
        self.assertEqual(laptop.get("/password-changed").json(), {"ended": 1})
        self.assertEqual(phone.get("/read").json()["user"], None)
        self.assertEqual(laptop.get("/read").json()["user"], "bob")

    def test_update_session_auth_hash_drop_in_keeps_this_session_and_ends_the_others(self):
        laptop, phone = self.signed_in("ivan"), self.signed_in("ivan")
        before = token_of(laptop)
        self.assertEqual(laptop.get("/password-changed-django").json(), {"ended": 1, "hash": "new-hash"})
        self.assertNotEqual(token_of(laptop), before)  # cycled, as Django does
        self.assertEqual(laptop.get("/read").json()["user"], "ivan")
        self.assertEqual(phone.get("/read").json()["user"], None)

    def test_log_out_everywhere_ends_every_session_and_refuses_older_proofs(self):
        a, b = self.signed_in("carol"), self.signed_in("carol")
        old_b = token_of(b)
        self.assertEqual(a.get("/everywhere").json(), {"ended": 2})
        self.assertIsNone(get_store().read(old_b))
        self.assertEqual(b.get("/read").json()["user"], None)
        self.assertEqual(a.get("/read").json()["user"], None)
        self.assertEqual(get_store().list_sessions("carol"), [])

    def test_sign_in_whose_proof_predates_a_revocation_is_refused(self):
        from memorydb_sessions import SignInRevoked

        s = SessionStore()
        s["n"] = 1
        s.save()
        s.cycle_key()  # login() starts: the password was checked before this
        get_store().revoke_user("dave")  # "log out everywhere" from another device, meanwhile
        s["_auth_user_id"] = "dave"
        with self.assertRaises(SignInRevoked):
            s.save()

    def test_raced_sign_in_is_answered_403_without_a_session(self):
        c = Client()
        c.get("/write?n=1")
        r = c.get("/login-raced?user=gina")
        self.assertEqual(r.status_code, 403)
        self.assertEqual(c.cookies[COOKIE].value, "")  # the cookie is deleted
        self.assertEqual(get_store().list_sessions("gina"), [])

    def test_sign_in_at_the_cap_with_refuse_is_409(self):
        values = dict(settings.MEMORYDB_SESSIONS, SESSION_MAX_SESSIONS_PER_USER=1, SESSION_LIMIT_ACTION="refuse")
        with override_settings(MEMORYDB_SESSIONS=values):
            self.assertEqual(Client().get("/login?user=hank").status_code, 200)
            self.assertEqual(Client().get("/login?user=hank").status_code, 409)

    def test_cycle_key_of_a_session_revoked_meanwhile_does_not_bring_it_back(self):
        s = SessionStore()
        s.cycle_key()
        s["_auth_user_id"] = "judy"
        s.save()
        s = SessionStore(s.session_key)
        s["n"] = 1  # loaded, signed in
        get_store().revoke_user("judy")  # another device, during this request
        s.cycle_key()  # e.g. update_session_auth_hash() after a password change
        s.save()
        self.assertNotIn("_auth_user_id", s)
        self.assertIsNone(get_store().read(s.session_key).user_id)
        self.assertEqual(get_store().list_sessions("judy"), [])

    def test_forged_cookies_are_unknown_sessions(self):
        for forged in ("x" * 8, "!" * 55, tokens.user_tag("alice") + "A" * 43):
            c = Client()
            c.cookies[COOKIE] = forged
            self.assertEqual(c.get("/read").json(), {"user": None, "data": None})
            c.get("/write?n=2")
            self.assertNotEqual(token_of(c), forged)
            self.assertTrue(tokens.is_token(token_of(c)))

    def test_session_logged_out_elsewhere_is_not_resurrected(self):
        a = self.signed_in("erin")
        stolen = token_of(a)
        get_store().revoke_user("erin")
        a.get("/write?n=9")  # a save on a session that ended: Django's SessionInterrupted
        self.assertIsNone(get_store().read(stolen))


class ExpiryTests(SimpleTestCase):
    def test_cookie_age_is_capped_by_the_cores_idle_timeout(self):
        values = dict(settings.MEMORYDB_SESSIONS, SESSION_IDLE_TIMEOUT_SECONDS=60, SESSION_IDLE_SLIDE_SECONDS=10)
        with override_settings(MEMORYDB_SESSIONS=values):
            c = Client()
            c.get("/write?n=1")
            self.assertEqual(c.cookies[COOKIE]["max-age"], 60)  # SESSION_COOKIE_AGE is 14 days
            session = SessionStore(token_of(c))
            self.assertEqual(session.get_expiry_age(), 60)
            session.set_expiry(30)  # shorter than the core's: Django's value
            self.assertEqual(session.get_expiry_age(), 30)

    def test_django_expiry_shorter_than_idle_is_enforced_on_load(self):
        s = SessionStore()
        s["n"] = 1
        s.set_expiry(-1)  # already past ("seconds of inactivity" elapsed)
        s.save()
        key = s.session_key
        self.assertEqual(SessionStore(key).load(), {})
        self.assertIsNone(get_store().read(key))  # and removed from the store


@override_settings(MEMORYDB_SESSIONS={"SESSION_STORE_ENDPOINT": "127.0.0.1", "SESSION_STORE_PORT": 1,
                                      "SESSION_STORE_TLS": "false", "SESSION_STORE_TIMEOUT_MS": 300})
class UnavailableTests(SimpleTestCase):
    def test_store_down_answers_503_not_500(self):
        c = Client(raise_request_exception=False)
        c.cookies[COOKIE] = tokens.new_token()
        r = c.get("/read")
        self.assertEqual(r.status_code, 503)
        self.assertEqual(r["Retry-After"], "1")


class SettingsTests(SimpleTestCase):
    def test_bad_settings_name_the_field(self):
        from django.core.exceptions import ImproperlyConfigured

        for bad, words in (({"SESSION_STORE_PORT": "x", "SESSION_STORE_ENDPOINT": "h"}, "SESSION_STORE_PORT"),
                           ({"SESSION_STORE_ENDPOINT": "h", "ENDPOINT": "h"}, "'ENDPOINT'"),
                           ({"SESSION_STORE_ENDPOINT": "h", "SESSION_LIMIT_ACTION": "maybe"}, "SESSION_LIMIT_ACTION must be")):
            with override_settings(MEMORYDB_SESSIONS=bad):
                with self.assertRaisesMessage(ImproperlyConfigured, words):
                    SessionStore()


class UnbindTests(SimpleTestCase):
    def test_dropping_the_user_without_flush_moves_data_to_a_new_anonymous_token(self):
        s = SessionStore()
        s.cycle_key()
        s["_auth_user_id"] = "frank"
        s["n"] = 1
        s.save()
        bound = s.session_key
        del s["_auth_user_id"]
        s.save()
        self.assertNotEqual(s.session_key, bound)
        self.assertIsNone(get_store().read(bound))
        self.assertIsNone(get_store().read(s.session_key).user_id)
        self.assertEqual(get_store().list_sessions("frank"), [])
        self.assertEqual(SessionStore(s.session_key)["n"], 1)
