"""Run moto's own WSGI app (the one moto_server uses) with our fills applied."""

import os
import signal
import sys
from pathlib import Path
from types import FrameType

# moto reads these when a backend is first built; set them before importing moto.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from werkzeug.serving import make_server  # noqa: E402

from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

from emulator.fills import apply_all  # noqa: E402
from emulator.trace import TraceMiddleware  # noqa: E402
from emulator.unimplemented import NotImplementedMiddleware  # noqa: E402


def serve(host: str = "127.0.0.1", port: int = 5000, pidfile: str | None = None) -> None:
    """Serve until SIGTERM/SIGINT; remove the pidfile on the way out."""
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    # moto builds ARNs/URLs (e.g. SQS, S3 presign) from MOTO_PORT.
    os.environ["MOTO_PORT"] = str(port)
    apply_all()
    app = DomainDispatcherApplication(create_backend_app)
    trace_path = os.environ.get("EMULATOR_TRACE")
    # Optional: log every non-2xx answer with its AWS action (how the gaps were found).
    # The trace sits outside, so it records the 501 that an unimplemented action becomes.
    wsgi_app = NotImplementedMiddleware(app)
    if trace_path:
        wsgi_app = TraceMiddleware(wsgi_app, trace_path)
    server = make_server(host, port, wsgi_app, threaded=True, request_handler=MotoRequestHandler)
    pid_path = Path(pidfile) if pidfile else None
    if pid_path is not None:
        pid_path.write_text(f"{os.getpid()}\n")

    def _stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() blocks until serve_forever returns, so raise out of it instead.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"emulator: moto with gap fills on http://{host}:{port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        if pid_path is not None and pid_path.exists():
            pid_path.unlink()
