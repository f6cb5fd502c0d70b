"""Server-side HTTP sessions on Amazon MemoryDB / Redis Cluster.

The core (``SessionStore``) is what the session service runs; ``memorydb_sessions.django``,
``.flask`` and ``.asgi`` put the same core behind each framework's session API.
"""

from .connection import ConfigurationError, StoreClient, StoreConfig
from .errors import (
    Conflict,
    SessionError,
    SessionLimitReached,
    SignInRevoked,
    StoreError,
    StoreFull,
    StoreUnavailable,
)
from .policy import SessionPolicy
from .records import Record
from .sessions import DataTooLarge, Metrics, Session, SessionInfo, SessionStore

__all__ = [
    "ConfigurationError", "Conflict", "DataTooLarge", "Metrics", "Record", "Session", "SessionError", "SessionInfo",
    "SessionLimitReached", "SessionPolicy", "SessionStore", "SignInRevoked", "StoreClient", "StoreConfig",
    "StoreError", "StoreFull", "StoreUnavailable",
]
__version__ = "0.1.0"
