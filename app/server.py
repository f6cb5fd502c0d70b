"""Run the ASGI app on uvicorn (uvloop + httptools), one or more processes,
with graceful shutdown: on SIGTERM readiness goes false, the listener closes,
in-flight requests finish (up to ``graceful_shutdown_seconds``, below ECS's
default 30 s stop timeout), then the store pool closes.

With ``app_plane_port`` set, the same process also serves the application plane
(``app/app_plane.py``) on that port, sharing the public App's ``SessionStore``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading

import uvicorn

from .config import Settings


def uvicorn_config(settings: Settings, **overrides) -> uvicorn.Config:
    kwargs = dict(
        app="app.http:create_app",
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        workers=settings.workers,
        access_log=False,  # we log one JSON line per request ourselves
        log_level="warning",
        # X-Forwarded-Proto is read by the app itself (the ALB's address is not fixed).
        proxy_headers=False,
        server_header=False,
        date_header=False,
        # Longer than the ALB's 60 s idle timeout, so the ALB closes first.
        timeout_keep_alive=65,
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
        backlog=2048,
    )
    kwargs.update(overrides)
    return uvicorn.Config(**kwargs)


class Server(uvicorn.Server):
    """uvicorn's server, but a graceful stop on SIGTERM/SIGINT ends with exit
    status 0 instead of re-raising the signal (ECS records a clean stop)."""

    @contextlib.contextmanager
    def capture_signals(self):
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


class _Follower(Server):
    """The application plane's server: it leaves the signals to the public one, which
    stops it when it stops (so the shared store closes after both)."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


class _Leader(Server):
    follower: _Follower | None = None

    def handle_exit(self, sig, frame) -> None:
        if self.follower is not None:
            self.follower.should_exit = True
        super().handle_exit(sig, frame)


def plane_servers(settings: Settings, public=None) -> tuple[Server, Server]:
    """The public server and the application plane's, on one shared SessionStore."""
    from .app_plane import AppPlane, check_settings
    from .http import App

    check_settings(settings)
    public = public if public is not None else App(settings)
    # The public App opens the process's SessionStore at startup and exposes it as `store`.
    plane = AppPlane(settings, lambda: public.store, log=public.obs.log)
    side = _Follower(uvicorn_config(settings, app=plane, factory=False, workers=1, lifespan="off",
                                    port=settings.app_plane_port))
    main = _Leader(uvicorn_config(settings, app=public, factory=False, workers=1))
    main.follower = side
    return main, side


async def serve_planes(main: Server, side: Server) -> None:
    side_task = asyncio.create_task(side.serve())
    try:
        await main.serve()
    finally:
        side.should_exit = True
        await side_task


def serve(settings: Settings) -> None:
    if settings.app_plane_port:
        from .config import ConfigError

        try:
            main, side = plane_servers(settings)
        except ConfigError as exc:
            raise SystemExit(f"configuration error: {exc}") from None
        with asyncio.Runner(loop_factory=main.config.get_loop_factory()) as runner:
            runner.run(serve_planes(main, side))
        return
    config = uvicorn_config(settings)
    if settings.workers <= 1:
        Server(config).run()
        return
    from uvicorn.supervisors import Multiprocess

    sock = config.bind_socket()
    Multiprocess(config, sockets=[sock]).run()


def chain_sigterm(callback) -> None:
    """Call *callback* first when SIGTERM/SIGINT arrives, then whatever handler
    was installed (uvicorn's, which starts the graceful shutdown)."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            previous = signal.getsignal(sig)
        except ValueError:  # pragma: no cover - not the main thread
            return

        def handler(signum, frame, previous=previous):
            callback()
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:  # nobody else handles it: default action
                signal.signal(signum, signal.SIG_DFL)
                signal.raise_signal(signum)

        try:
            signal.signal(sig, handler)
        except ValueError:  # pragma: no cover - not the main thread
            return
