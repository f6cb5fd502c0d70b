"""WSGI middleware that records which AWS action each failing request was.

moto's access log shows only "POST / 500"; for finding gaps we need the service
and action (X-Amz-Target, Action=, or the REST path) and the error body.
"""

import io
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

StartResponse = Callable[..., Any]


class TraceMiddleware:
    def __init__(self, app: Callable[..., Iterable[bytes]], path: str) -> None:
        self.app = app
        self.path = path
        self.lock = threading.Lock()

    def _action(self, environ: dict[str, Any], body: bytes) -> str:
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            return str(target)
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace")) if body[:1] != b"{" else {}
        action = (query.get("Action") or form.get("Action") or [""])[0]
        auth = environ.get("HTTP_AUTHORIZATION", "")
        service = auth.split("/")[3] if auth.count("/") >= 4 else "?"
        return f"{service}:{action or environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}?{environ.get('QUERY_STRING', '')}"

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        status_holder: list[str] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status_holder.append(status)
            return start_response(status, headers, exc_info)

        try:
            chunks = list(self.app(environ, capture))
        except Exception as exc:
            self._write(f"EXC {self._action(environ, body)} {exc!r}\n")
            raise
        status = status_holder[0] if status_holder else "?"
        if not status.startswith("2"):
            out = b"".join(chunks)[:400].decode("utf-8", "replace").replace("\n", " ")
            self._write(f"{status[:3]} {self._action(environ, body)} {out}\n")
        return chunks

    def _write(self, line: str) -> None:
        with self.lock:
            with open(self.path, "a") as fh:
                fh.write(line)
