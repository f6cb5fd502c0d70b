"""Session service: HTTP sessions kept in a Redis Cluster (Amazon MemoryDB)."""

__version__ = "1.0.0"
