"""IAM mode: the engine authenticates to the TLS cluster with a MemoryDB IAM token made by
the core's signer (botocore SigV4, as the service does), not with a password.  Redis cannot
verify SigV4, so the clock and credentials are fixed, the token they yield is made the ACL
password of an IAM-style user on every node, and a token signed for another region (what
a wrong signer would send) must be refused."""

from __future__ import annotations

import pytest
from django.test import Client
from django.test.utils import override_settings

from memorydb_sessions import StoreUnavailable
from memorydb_sessions.django import SessionStore

from ..iam_signer import REGION, iam_env
from ..iam_signer import iam_user as signed_iam_user

USER = "django-iam"


@pytest.fixture()
def iam_user(cluster, monkeypatch):
    with signed_iam_user(cluster, monkeypatch, USER):
        yield


def iam_settings(cluster, region: str) -> dict:
    return iam_env(cluster, USER, region)


def test_engine_in_iam_mode_signs_in_and_reads(cluster, iam_user):
    with override_settings(MEMORYDB_SESSIONS=iam_settings(cluster, REGION)):
        c = Client()
        c.get("/write?n=7")
        c.get("/login?user=iam-alice")
        assert c.get("/read").json() == {"user": "iam-alice", "data": "7"}


def test_token_signed_for_another_region_is_refused(cluster, iam_user):
    with override_settings(MEMORYDB_SESSIONS=iam_settings(cluster, "us-east-1")):
        s = SessionStore()
        s["n"] = 1
        with pytest.raises(StoreUnavailable):
            s.save()
