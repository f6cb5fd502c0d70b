"""How a trusted backend proves who it is to the session service's application plane,
without a shared secret (HashiCorp Vault's AWS auth method pattern).

The caller SigV4-signs an ``sts:GetCallerIdentity`` request with its own AWS credentials
(an ECS task role, say) and sends that request, unsent, in a header. The service forwards
it to STS, which verifies the signature and answers with the caller's ARN. The service's
id is a signed header, so a request signed for one service is refused by every other
(docs/security.md, "Application plane")::

    import botocore.session
    creds = botocore.session.get_session().get_credentials()
    headers = {"Authorization": caller_identity_header(creds, "eu-west-1", "session-prod")}

Needs botocore (the ``iam`` extra).
"""

from __future__ import annotations

import base64
import json

SCHEME = "STS-Identity"
SERVER_ID_HEADER = "X-Session-Server-Id"
# The only request the service forwards (POST form: moto and STS both answer it).
BODY = "Action=GetCallerIdentity&Version=2011-06-15"
CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"


def default_sts_endpoint(region: str) -> str:
    """The regional STS endpoint (the global one is legacy and lives in us-east-1)."""
    return f"https://sts.{region}.amazonaws.com"


def caller_identity_header(credentials, region: str, server_id: str, sts_endpoint: str | None = None) -> str:
    """The ``Authorization`` header value for one application-plane request.

    *credentials*: botocore credentials (refreshable ones are frozen here). *server_id*: the
    service's ``SESSION_APP_PLANE_SERVER_ID``. *sts_endpoint*: what the service forwards to
    (its ``SESSION_STS_ENDPOINT``); the regional endpoint by default. A header is valid for
    SigV4's 15 minutes: sign a fresh one every few minutes, not per request."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    if hasattr(credentials, "get_frozen_credentials"):
        credentials = credentials.get_frozen_credentials()
    url = sts_endpoint or default_sts_endpoint(region)
    request = AWSRequest(method="POST", url=url, data=BODY,
                         headers={"Content-Type": CONTENT_TYPE, SERVER_ID_HEADER: server_id})
    SigV4Auth(credentials, "sts", region).add_auth(request)
    signed = {"method": "POST", "url": url, "headers": dict(request.headers.items()), "body": BODY}
    return f"{SCHEME} " + base64.b64encode(json.dumps(signed).encode()).decode("ascii")
