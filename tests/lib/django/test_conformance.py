"""Django's own session backend tests (``SessionTestsMixin`` from Django's source
distribution) against ``memorydb_sessions.django`` on the real TLS cluster with its ACL
user, subclassed as Django subclasses it for its cache backend (``CacheSessionTests``)."""

from __future__ import annotations

import string

from django.test import SimpleTestCase
from sessions_tests.tests import SessionTestsMixin

from memorydb_sessions import tokens
from memorydb_sessions.django import SessionStore, get_store


class MemoryDBSessionTests(SessionTestsMixin, SimpleTestCase):
    backend = SessionStore

    # The counterparts of CacheSessionTests' own tests.
    def test_load_overlong_key(self):
        self.session._session_key = (string.ascii_letters + string.digits) * 20
        self.assertEqual(self.session.load(), {})

    def test_create_and_save(self):
        self.session = self.backend()
        self.session.create()
        self.session.save()
        self.assertIsNotNone(get_store().read(self.session.session_key))

    async def test_create_and_save_async(self):
        self.session = self.backend()
        await self.session.acreate()
        await self.session.asave()
        self.assertTrue(await self.session.aexists(self.session.session_key))

    def test_keys_are_core_tokens_django_accepts(self):
        self.session["a"] = 1
        self.session.save()
        key = self.session.session_key
        self.assertTrue(tokens.is_token(key))
        self.assertTrue(self.session._validate_session_key(key))
        self.assertEqual(self.backend(key)["a"], 1)

    def test_clear_expired_is_a_no_op(self):
        self.session.save()
        self.assertIsNone(self.backend.clear_expired())
        self.assertTrue(self.session.exists(self.session.session_key))
