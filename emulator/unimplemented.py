"""WSGI middleware: answer actions moto does not implement with 501 NotImplemented.

moto raises NotImplementedError, which the server turns into a bare HTTP 500. AWS SDKs
treat 500 as retryable, so the provider spends minutes retrying before it reports an
opaque "500" (the reason deploys must cap AWS_MAX_ATTEMPTS). A 501 with an AWS-style
error body is not retried and names the missing action, so a new gap shows up at once.
"""

import json
from xml.sax.saxutils import escape
from collections.abc import Callable, Iterable
from typing import Any

StartResponse = Callable[..., Any]


def _service(environ: dict[str, Any]) -> str:
    """Signing service from the SigV4 credential scope (.../<region>/<service>/aws4_request)."""
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    parts = auth.split("Credential=", 1)[-1].split(",", 1)[0].split("/")
    return parts[3] if len(parts) >= 5 else ""


def _body(environ: dict[str, Any], message: str) -> tuple[str, bytes]:
    """An error body in the shape the caller's protocol parses, so SDKs show our message."""
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if environ.get("HTTP_X_AMZ_TARGET") or "json" in content_type:
        # JSON protocols read the error code from __type.
        payload = json.dumps({"__type": "NotImplemented", "message": message, "Message": message})
        return "application/x-amz-json-1.1", payload.encode()
    error = f"<Error><Code>NotImplemented</Code><Message>{escape(message)}</Message></Error>"
    service = _service(environ)
    if service == "ec2":
        xml = f"<Response><Errors>{error}</Errors><RequestID>emulator</RequestID></Response>"
    elif service == "s3":
        xml = error
    else:  # query protocol (IAM, STS, ELBv2, SNS, CloudWatch, ...)
        xml = f"<ErrorResponse>{error}<RequestId>emulator</RequestId></ErrorResponse>"
    return "text/xml", xml.encode()


class NotImplementedMiddleware:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            return list(self.app(environ, start_response))
        except NotImplementedError as exc:
            message = f"{exc} in the local emulator (moto with gap fills); see docs/local-emulator.md"
            content_type, body = _body(environ, message)
            start_response(
                "501 Not Implemented",
                [("Content-Type", content_type), ("Content-Length", str(len(body))), ("x-amzn-ErrorType", "NotImplemented")],
            )
            return [body]
