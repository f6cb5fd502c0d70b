"""The reference application's page: static HTML, script and style, served as they are.

The page holds no session state of its own and ``GET /`` touches nothing: the script asks
the JSON API (``/api/session``...) what to show and sends every change as a JSON request
from this origin, which is what the API's forgery checks demand. The policy allows only
our own script, style and connections (no inline code)."""

from __future__ import annotations

from pathlib import Path

_DIR = Path(__file__).with_name("static")

CSP = (b"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
       b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

INDEX = (_DIR / "index.html").read_bytes()
STATIC: dict[str, tuple[bytes, bytes]] = {
    "/static/app.js": (b"text/javascript; charset=utf-8", (_DIR / "app.js").read_bytes()),
    "/static/app.css": (b"text/css; charset=utf-8", (_DIR / "app.css").read_bytes()),
}


def html_headers() -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"text/html; charset=utf-8"), (b"content-security-policy", CSP),
            (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer")]
