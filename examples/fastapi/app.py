"""A small FastAPI application on the stack's session store, through the library's ASGI
middleware (``memorydb_sessions.asgi``, a drop-in for Starlette's SessionMiddleware), for
the container contract (docs/container-contract.md): uvicorn on port 8000, ``GET /healthz``
without the store, the store configured from the SESSION_* environment.

``GET /`` counts the visits of the browser's server-side session; ``POST /login`` (JSON
``{"user", "password"}``) signs in under a new session id; ``GET /me`` shows the user and
their sessions; ``POST /logout`` and ``POST /logout-everywhere`` end one or all.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel

from memorydb_sessions import SessionLimitReached, SignInRevoked, StoreUnavailable
from memorydb_sessions import asgi as sessions

app = FastAPI()
# Where an app had Starlette's `SessionMiddleware, secret_key=...`: only the import changed.
# The store is built on first use from the SESSION_* environment.
app.add_middleware(sessions.SessionMiddleware, https_only=os.environ.get("SESSION_REQUIRE_HTTPS", "false") == "true")


def _scrypt(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)


# A tiny user list for the example (a real app has its own): name -> (salt, scrypt hash).
_SALT = os.urandom(16)
USERS = {"alice": (_SALT, _scrypt(os.environ.get("EXAMPLE_ALICE_PASSWORD", "wonderland"), _SALT))}


class Credentials(BaseModel):
    user: str
    password: str


@app.exception_handler(StoreUnavailable)
async def store_unavailable(request: Request, exc: StoreUnavailable):
    return PlainTextResponse("the session store is unavailable; retry shortly\n", 503, {"Retry-After": "1"})


@app.get("/healthz", response_class=PlainTextResponse)
async def healthz():
    return PlainTextResponse("ok\n", headers={"Cache-Control": "no-store"})


@app.get("/")
async def visits(request: Request):
    request.session["visits"] = request.session.get("visits", 0) + 1
    return {"visits": request.session["visits"]}


@app.post("/login")
async def login(request: Request, credentials: Credentials):
    salt, expected = USERS.get(credentials.user, (_SALT, b""))
    if not (hmac.compare_digest(_scrypt(credentials.password, salt), expected) and credentials.user in USERS):
        return JSONResponse({"error": "user or password is wrong"}, 401)
    try:
        await sessions.sign_in(request, credentials.user)  # a new session id; the old one ends
    except SignInRevoked:
        return JSONResponse({"error": "signed out everywhere meanwhile: sign in again"}, 403)
    except SessionLimitReached:
        return JSONResponse({"error": "too many sessions: end one first"}, 409)
    return {"user": credentials.user}


@app.get("/me")
async def me(request: Request):
    user = sessions.user_id(request)
    if user is None:
        return JSONResponse({"error": "not signed in"}, 401)
    mine = [{"handle": s.handle, "created_at": s.created_at, "current": s.current}
            for s in await sessions.list_sessions(request)]
    return {"user": user, "sessions": mine}


@app.post("/logout")
async def logout(request: Request):
    await sessions.sign_out(request)
    return {"ok": True}


@app.post("/logout-everywhere")
async def logout_everywhere(request: Request):
    return {"ended": await sessions.sign_out_everywhere(request)}
