"""The service's session store: the library's core (``memorydb_sessions``) configured
from the service's settings. One ``SessionStore`` per process."""

from __future__ import annotations

from memorydb_sessions import SessionPolicy, SessionStore, StoreClient, StoreConfig

from .config import Settings


def store_config(settings: Settings) -> StoreConfig:
    return StoreConfig(
        host=settings.store_endpoint,
        port=settings.store_port,
        username=settings.store_username,
        password=settings.store_password,
        tls=settings.store_tls,
        ca_file=settings.store_ca_file,
        check_hostname=settings.store_tls_check_hostname,
        auth=settings.store_auth,
        cluster_name=settings.store_cluster_name,
        region=settings.aws_region,
        connect_timeout=settings.store_connect_timeout,
        socket_timeout=settings.store_socket_timeout,
        max_connections=settings.store_max_connections,
    )


def session_policy(settings: Settings) -> SessionPolicy:
    return SessionPolicy(
        idle_timeout=settings.idle_timeout,
        absolute_lifetime=settings.absolute_lifetime,
        idle_slide=settings.idle_slide_seconds,
        max_sessions_per_user=settings.max_sessions_per_user,
        limit_action=settings.session_limit_action,
        max_data_bytes=settings.max_payload_bytes,
        store_timeout=settings.store_timeout,
    )


def open_store(settings: Settings, metrics=None, client: StoreClient | None = None) -> SessionStore:
    return SessionStore(client or StoreClient(store_config(settings)), session_policy(settings), metrics)
