"""What a request says about its client: address, agent, and whether it may change state.

Cross-site request forgery (ASVS 3.5.x): a state-changing request (POST, PUT, PATCH,
DELETE) must come from our own origin and carry what a cross-site form cannot send:
* ``Sec-Fetch-Site`` (sent by every current browser), when present, is ``same-origin``
  or ``none`` (typed by the user);
* ``Origin``, when present, is this service's own origin or one of ``allowed_origins``;
* and the request has a JSON ``Content-Type`` or the ``X-Session-Request`` header. Both
  make a cross-origin ``fetch`` send a CORS preflight, which this service never answers,
  so a foreign page cannot even deliver the request.
Non-browser clients (curl, backends) send neither fetch header and pass the first two.
"""

from __future__ import annotations

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CUSTOM_HEADER = b"x-session-request"
_UA_FAMILIES = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
                ("Safari/", "Safari"), ("curl/", "curl"), ("python-httpx", "httpx"), ("python-requests", "requests"))
_OS = (("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iOS"), ("Mac OS X", "macOS"),
       ("Linux", "Linux"))


def forgery_problem(method: str, headers: dict[bytes, bytes], own_origin: str, allowed: tuple[str, ...]) -> str | None:
    """Why this request may not change state, or None when it may."""
    if method not in STATE_CHANGING:
        return None
    site = headers.get(b"sec-fetch-site")
    if site is not None and site not in (b"same-origin", b"none"):
        return f"cross-site request refused (Sec-Fetch-Site: {site.decode('latin-1')[:20]})"
    origin = headers.get(b"origin")
    if origin is not None:
        value = origin.decode("latin-1").lower()
        if value != own_origin and value not in allowed:
            return "request from another origin refused (Origin not allowed)"
    content_type = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
    if not content_type.endswith(b"json") and CUSTOM_HEADER not in headers:
        return "state-changing requests need Content-Type: application/json or the X-Session-Request header"
    return None


def own_origin(headers: dict[bytes, bytes], secure: bool) -> str:
    host = headers.get(b"host", b"").decode("latin-1").lower()
    return ("https://" if secure else "http://") + host


def client_ip(headers: dict[bytes, bytes], peer: tuple | None, trusted_hops: int) -> str:
    """The address our own proxies saw: the ALB appends it to X-Forwarded-For, so with
    *trusted_hops* proxies it is that many entries from the right (earlier entries are
    whatever the client wrote)."""
    if trusted_hops:
        forwarded = headers.get(b"x-forwarded-for")
        if forwarded:
            entries = [e.strip() for e in forwarded.decode("latin-1").split(",")]
            if len(entries) >= trusted_hops and entries[-trusted_hops]:
                return entries[-trusted_hops][:64]
    return str(peer[0]) if peer else "unknown"


def agent_summary(user_agent: bytes | None) -> str:
    """"Chrome on Linux": enough to tell devices apart, not a fingerprint."""
    text = (user_agent or b"").decode("latin-1")
    family = next((name for marker, name in _UA_FAMILIES if marker in text), "unknown client")
    system = next((name for marker, name in _OS if marker in text), None)
    return f"{family} on {system}" if system else family
