"""Who is calling the application plane: a signed ``sts:GetCallerIdentity`` request,
verified by STS itself (HashiCorp Vault's AWS auth method; the client side is
``memorydb_sessions/caller_auth.py``).

What is checked before anything leaves the process, so the service never becomes a
signing oracle or an open proxy:

* the request goes to *our* STS endpoint (we send it to the configured URL, never to the
  caller's string: a caller cannot make us connect anywhere else);
* it is exactly ``POST`` ``Action=GetCallerIdentity&Version=2011-06-15``;
* ``X-Session-Server-Id`` is among the SigV4 signed headers and equals our server id. A
  header captured by, or presented to, another service that uses this scheme names that
  service's id, so replaying it here (or ours there) fails: STS would verify the signature
  but the id check refuses it first.

STS accepts a SigV4 signature for 15 minutes after its ``X-Amz-Date`` (AWS SigV4 docs):
that is the replay window of a captured header, as with Vault. Verifications are cached
for ``CACHE_SECONDS`` (never past that window), keyed by everything forwarded, so a busy
caller costs one STS call per header, not per request.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import calendar
import hashlib
import http.client
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from memorydb_sessions.caller_auth import BODY, SCHEME, SERVER_ID_HEADER, default_sts_endpoint

MAX_HEADER_CHARS = 16384  # a role session token alone can pass 2 KB
SIGV4_WINDOW_SECONDS = 15 * 60  # STS refuses a signature older than this (or as far ahead)
CACHE_SECONDS = 60
CACHE_ENTRIES = 1024
STS_TIMEOUT_SECONDS = 5.0
# STS calls in flight per process: each holds a worker thread, and anyone who can reach the
# port can sign garbage with made-up keys. Past this, 503 at once instead of queueing.
STS_CONCURRENCY = 4
# Set by urllib from the URL and body it sends; a caller's copy is dropped.
_TRANSPORT_HEADERS = {"host", "content-length", "connection", "transfer-encoding", "expect"}
_HEADER_VALUE_RE = re.compile(r"[\x20-\x7e]{0,8192}")
_HEADER_NAME_RE = re.compile(r"[A-Za-z0-9-]{1,64}")
_SIGNED_HEADERS_RE = re.compile(r"SignedHeaders=([a-z0-9;-]+)")
_ROLE_ARN_RE = re.compile(r"arn:(aws[a-z-]*):iam::([0-9]{12}):role/(?:[A-Za-z0-9+=,.@_-]+/)*([A-Za-z0-9+=,.@_-]{1,64})")
_ASSUMED_ROLE_RE = re.compile(r"arn:(aws[a-z-]*):sts::([0-9]{12}):assumed-role/([A-Za-z0-9+=,.@_-]{1,64})/[^/]+")


class CallerRejected(Exception):
    """The caller did not prove an allowed identity; ``status`` is 401, 403 or 503."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Caller:
    role_arn: str  # arn:aws:iam::<account>:role/<name>
    caller_arn: str  # what STS answered (the assumed-role session ARN)


def role_arn(arn: str) -> str | None:
    """The IAM role behind *arn*, as ``arn:<partition>:iam::<account>:role/<name>``; None
    when it is not a role (an IAM user, the root user).

    STS reports a role session as ``arn:aws:sts::<acct>:assumed-role/<role>/<session>``,
    without the role's path, so a role ARN with a path (``role/team/app``) compares by its
    last segment, as Vault's ``bound_iam_principal_arn`` documents."""
    m = _ASSUMED_ROLE_RE.fullmatch(arn) or _ROLE_ARN_RE.fullmatch(arn)
    if m is None:
        return None
    partition, account, name = m.groups()
    return f"arn:{partition}:iam::{account}:role/{name}"


def sts_endpoint(configured: str | None, region: str | None) -> str:
    if configured:
        return configured
    if not region:
        raise ValueError("SESSION_STS_ENDPOINT or AWS_REGION is required when SESSION_APP_PLANE_PORT is set")
    return default_sts_endpoint(region)


@dataclass(frozen=True, slots=True)
class _Signed:
    headers: tuple[tuple[str, str], ...]
    amz_date: float
    key: str


def _same_endpoint(url: object, endpoint: urllib.parse.SplitResult) -> bool:
    if not isinstance(url, str):
        return False
    try:
        got = urllib.parse.urlsplit(url)
        got_port, want_port = got.port, endpoint.port
    except ValueError:
        return False
    return (got.scheme.lower() == endpoint.scheme.lower() and (got.hostname or "") == (endpoint.hostname or "")
            and got_port == want_port and got.path in ("", "/") and not got.query and not got.fragment
            and got.username is None)


def _amz_date(value: str) -> float:
    try:
        return float(calendar.timegm(time.strptime(value, "%Y%m%dT%H%M%SZ")))
    except ValueError:
        raise CallerRejected(401, "headers: X-Amz-Date is not a SigV4 date (YYYYMMDDTHHMMSSZ)") from None


class CallerVerifier:
    """Checks ``Authorization: STS-Identity <base64 JSON>`` headers; one per process."""

    def __init__(self, endpoint: str, server_id: str, trusted_roles: tuple[str, ...], *,
                 clock: Callable[[], float] = time.time, timeout: float = STS_TIMEOUT_SECONDS,
                 cache_seconds: int = CACHE_SECONDS, cache_entries: int = CACHE_ENTRIES) -> None:
        self.endpoint = endpoint
        self._endpoint = urllib.parse.urlsplit(endpoint)
        self.server_id = server_id
        # Compare by name: an allow-list entry with a path matches STS's path-less answer.
        self.trusted = frozenset(r for r in (role_arn(a) for a in trusted_roles) if r is not None)
        self._clock = clock
        self._timeout = timeout
        self._cache_seconds = cache_seconds
        self._cache_entries = cache_entries
        self._cache: OrderedDict[str, tuple[Caller, float]] = OrderedDict()
        self._in_flight = 0
        self._pending: dict[str, asyncio.Future[Caller]] = {}
        self.sts_calls = 0

    async def verify(self, header: str | None) -> Caller:
        signed = self._parse(header)
        now = self._clock()
        if abs(now - signed.amz_date) > SIGV4_WINDOW_SECONDS:
            raise CallerRejected(401, "the signed request is older than SigV4's 15 minutes (or from the future): sign a new one")
        hit = self._cache.get(signed.key)
        if hit is not None and hit[1] > now:
            self._cache.move_to_end(signed.key)
            return self._allowed(hit[0])
        # Concurrent requests with one new header wait for one STS call (a busy caller's
        # burst must not use up STS_CONCURRENCY on itself).
        pending = self._pending.get(signed.key)
        if pending is None:
            pending = self._pending[signed.key] = asyncio.ensure_future(self._ask_sts(signed))
            pending.add_done_callback(lambda _: self._pending.pop(signed.key, None))
        caller = await asyncio.shield(pending)
        self._cache[signed.key] = (caller, min(now + self._cache_seconds, signed.amz_date + SIGV4_WINDOW_SECONDS))
        while len(self._cache) > self._cache_entries:
            self._cache.popitem(last=False)
        return self._allowed(caller)

    def _allowed(self, caller: Caller) -> Caller:
        if caller.role_arn not in self.trusted:
            raise CallerRejected(403, f"{caller.role_arn} is not a trusted caller (SESSION_TRUSTED_CALLER_ARNS)")
        return caller

    # ------------------------------------------------------------------ checks
    def _parse(self, header: str | None) -> _Signed:
        usage = f"Authorization: {SCHEME} <base64 JSON of a signed sts:GetCallerIdentity request> required"
        if not header:
            raise CallerRejected(401, usage)
        scheme, _, blob = header.partition(" ")
        if scheme != SCHEME or not blob:
            raise CallerRejected(401, usage)
        if len(blob) > MAX_HEADER_CHARS:
            raise CallerRejected(401, f"the {SCHEME} header is longer than {MAX_HEADER_CHARS} characters")
        try:
            signed = orjson.loads(base64.b64decode(blob.strip(), validate=True))
        except (binascii.Error, ValueError):
            raise CallerRejected(401, f"the {SCHEME} header is not base64 of a JSON object") from None
        if not isinstance(signed, dict) or not isinstance(signed.get("headers"), dict):
            raise CallerRejected(401, f"the {SCHEME} header needs method, url, headers and body")
        if signed.get("method") != "POST":
            raise CallerRejected(401, "method: the signed request must be a POST")
        if not _same_endpoint(signed.get("url"), self._endpoint):
            raise CallerRejected(401, f"url: the signed request must be for this service's STS endpoint {self.endpoint}")
        if signed.get("body") != BODY:
            raise CallerRejected(401, f"body: the signed request must be exactly {BODY}")
        headers: dict[str, tuple[str, str]] = {}
        for name, value in signed["headers"].items():
            if not (isinstance(value, str) and _HEADER_NAME_RE.fullmatch(name) and _HEADER_VALUE_RE.fullmatch(value)):
                raise CallerRejected(401, f"headers: {name[:64]!r} is not a plain header")
            if name.lower() in headers:
                raise CallerRejected(401, f"headers: {name} appears twice")
            headers[name.lower()] = (name, value)
        auth = headers.get("authorization", ("", ""))[1]
        match = _SIGNED_HEADERS_RE.search(auth) if auth.startswith("AWS4-HMAC-SHA256 ") else None
        if match is None:
            raise CallerRejected(401, "headers: Authorization must carry a SigV4 (AWS4-HMAC-SHA256) signature")
        id_header = SERVER_ID_HEADER.lower()
        if id_header not in match.group(1).split(";"):
            raise CallerRejected(401, f"headers: {SERVER_ID_HEADER} must be a signed header")
        if headers.get(id_header, ("", ""))[1] != self.server_id:
            raise CallerRejected(401, f"headers: {SERVER_ID_HEADER} names another server (signed for a different service)")
        amz_date = _amz_date(headers.get("x-amz-date", ("", ""))[1])
        forwarded = tuple(sorted(pair for lower, pair in headers.items() if lower not in _TRANSPORT_HEADERS))
        key = hashlib.sha256(orjson.dumps([self.endpoint, forwarded])).hexdigest()
        return _Signed(forwarded, amz_date, key)

    # --------------------------------------------------------------------- STS
    async def _ask_sts(self, signed: _Signed) -> Caller:
        if self._in_flight >= STS_CONCURRENCY:
            raise CallerRejected(503, "too many caller verifications in flight: retry")
        self.sts_calls += 1
        self._in_flight += 1
        try:
            # The service's image has no async HTTP client (Pipfile [service-packages]): urllib
            # in a worker thread keeps the event loop free.
            status, body = await asyncio.to_thread(self._post, signed.headers)
        finally:
            self._in_flight -= 1
        if status != 200:
            code = _xml_text(body, "Code") or f"HTTP {status}"
            raise CallerRejected(401, f"STS refused the signed request: {code[:100]}")
        arn = _xml_text(body, "Arn")
        if arn is None:
            raise CallerRejected(503, "STS answered without an Arn")
        role = role_arn(arn)
        if role is None:
            raise CallerRejected(403, "only IAM roles may call the application plane (got a non-role principal)")
        return Caller(role_arn=role, caller_arn=arn)

    def _post(self, headers: tuple[tuple[str, str], ...]) -> tuple[int, bytes]:
        request = urllib.request.Request(self.endpoint, data=BODY.encode(), method="POST", headers=dict(headers))
        try:
            with _OPENER.open(request, timeout=self._timeout) as response:
                return response.status, response.read(65536)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(65536)
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            raise CallerRejected(503, f"STS not reachable: {type(exc).__name__}") from None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect would send the caller's signed request to another host: never follow."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401
        return None


# No proxy handler from the environment either: the request goes to the endpoint itself.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


def _xml_text(body: bytes, tag: str) -> str | None:
    """The text of the first ``<tag>`` in an STS XML answer (any namespace), or None."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    for element in root.iter():
        if element.tag == tag or element.tag.endswith("}" + tag):
            return (element.text or "").strip() or None
    return None
