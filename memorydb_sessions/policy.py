"""How long sessions live and how many a user may hold."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SessionPolicy:
    idle_timeout: int = 1800  # seconds without a request before a session ends
    absolute_lifetime: int = 43200  # seconds after creation when it ends anyway (>= idle_timeout)
    # Reads slide the idle expiry only when it is at least this stale, so most reads write
    # nothing: on MemoryDB every write waits for the multi-AZ transaction log.
    idle_slide: int = 60
    max_sessions_per_user: int = 10  # ASVS 7.1.2: a cap on concurrent sessions
    limit_action: str = "evict-oldest"  # or "refuse": sign-in at the cap fails
    max_data_bytes: int = 4096  # client data, serialized
    store_timeout: float = 1.0  # deadline of one operation, retries included (seconds)

    def __post_init__(self) -> None:
        rules = [
            (self.idle_timeout >= 1, "idle_timeout must be at least 1 second"),
            (self.absolute_lifetime >= self.idle_timeout, "absolute_lifetime must not be shorter than idle_timeout"),
            (1 <= self.idle_slide < self.idle_timeout, "idle_slide must be at least 1 and shorter than idle_timeout"),
            (self.max_sessions_per_user >= 1, "max_sessions_per_user must be at least 1"),
            (self.limit_action in ("evict-oldest", "refuse"), "limit_action must be 'evict-oldest' or 'refuse'"),
            (self.max_data_bytes >= 2, "max_data_bytes must be at least 2"),
            (self.store_timeout > 0, "store_timeout must be positive"),
        ]
        for ok, message in rules:
            if not ok:
                raise ValueError(f"SessionPolicy: {message}")
