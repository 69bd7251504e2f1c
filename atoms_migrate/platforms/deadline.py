"""A total deadline per HTTP request, not only per socket read.

httpx's timeouts bound each network operation: a server that drips one byte a second
never trips a 30-second read timeout and holds the run forever. ``DeadlineTransport``
gives every request one deadline covering connect, the request, the headers and the body:
it wraps the connection pool's network backend so that each socket operation is given at
most the time left, and fails with ``httpx.ReadTimeout`` once none is. The deadline lives
in a thread-local set when the request starts, because httpx reads the body after the
transport returned, in the same thread.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpcore
import httpx

DEFAULT_TOTAL = 120.0
_local = threading.local()


def _left(timeout: float | None) -> float | None:
    deadline: float | None = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the request's total deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, _left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, _left(timeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(self.inner.start_tls(ssl_context, server_hostname, _left(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self.inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        return _Stream(self.inner.connect_tcp(host, port, _left(timeout), local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        return _Stream(self.inner.connect_unix_socket(path, _left(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class DeadlineTransport(httpx.BaseTransport):
    """``httpx.HTTPTransport`` whose every request must finish, body included, within ``total`` seconds."""

    def __init__(self, total: float = DEFAULT_TOTAL, **kwargs: Any) -> None:
        self.total = total
        self.inner = httpx.HTTPTransport(**kwargs)
        pool = getattr(self.inner, "_pool", None)
        # httpcore keeps the backend on the pool; without it (another httpcore) only per-read timeouts apply.
        if pool is not None and hasattr(pool, "_network_backend"):
            pool._network_backend = _Backend(pool._network_backend)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _local.deadline = time.monotonic() + self.total
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()
