"""An application written against Starlette's own ``SessionMiddleware``: nothing here knows
about memorydb_sessions.  ``build(middleware)`` is the only seam: the tests pass Starlette's
class or ours and expect the same behaviour."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route


async def healthz(request: Request):
    return PlainTextResponse("ok")


async def read(request: Request):
    return JSONResponse({"session": dict(request.session)})


async def write(request: Request):
    request.session["n"] = request.query_params["n"]
    request.session.setdefault("first", request.query_params["n"])
    return JSONResponse({"session": dict(request.session)})


async def add(request: Request):
    items = request.session.get("items", [])
    request.session["items"] = [*items, request.query_params["v"]]
    return JSONResponse({"session": dict(request.session)})


async def pop(request: Request):
    request.session.pop("n", None)
    return JSONResponse({"session": dict(request.session)})


async def clear(request: Request):
    request.session.clear()
    return PlainTextResponse("cleared")


ROUTES = [Route("/healthz", healthz), Route("/read", read), Route("/write", write), Route("/add", add),
          Route("/pop", pop), Route("/clear", clear)]
OPTIONS = dict(secret_key="compat-secret", session_cookie="sess", max_age=3600, same_site="strict", https_only=True)


def build(middleware) -> Starlette:
    from starlette.middleware import Middleware
    return Starlette(routes=ROUTES, middleware=[Middleware(middleware, **OPTIONS)])


def build_fastapi(middleware) -> FastAPI:
    app = FastAPI()
    app.add_middleware(middleware, **OPTIONS)

    def cart(request: Request) -> dict:
        return request.session

    @app.get("/healthz")
    def healthz_():
        return "ok"

    @app.get("/cart/add")
    def cart_add(item: str, session: dict = Depends(cart)):
        session["cart"] = [*session.get("cart", []), item]
        return {"cart": session["cart"]}

    @app.get("/cart")
    async def cart_read(session: dict = Depends(cart)):
        return {"cart": session.get("cart", [])}

    @app.post("/cart/empty")
    async def cart_empty(request: Request):
        request.session.clear()
        return {"cart": []}

    return app
