"""Retrying idempotent requests with back-off that honours the server's wait hints.

Callers choose what is safe to repeat: reads and upserts (the Atoms draft PUT) retry
transient answers (408, 429, 5xx), timeouts and dropped connections; other writes pass
only the statuses that prove nothing was done and ``transport_retries=False``. Waits are
capped exponential back-off with full jitter through tenacity (a random wait between 0 and
``initial_wait * 2**n``, at most ``max_wait``: clients that failed together do not retry together);
when the server says how long to wait (``retry-after-ms``, ``Retry-After`` in seconds or
as an HTTP date, ``x-ratelimit-reset``, a JSON ``retry_after`` or ``rateLimit.retryAfterSec``,
see elevenlabs-convai-api.md §F.3 and smallest-atoms-api.md §G.3) that wait is used instead.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import tenacity

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    initial_wait: float = 0.5
    max_wait: float = 30.0
    # False for writes: a timeout or dropped connection leaves them ambiguous, not failed.
    transport_retries: bool = True
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)


class RetryableResponse(Exception):
    """Raised inside the retry loop for a transient status; carries the response."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def server_wait_hint(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, from headers or a JSON body, if any."""
    headers = response.headers
    now = time.time() if now is None else now
    try:
        if "retry-after-ms" in headers:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        if "retry-after" in headers:
            value = headers["retry-after"].strip()
            if value.replace(".", "", 1).isdigit():
                return float(value)
            parsed = email.utils.parsedate_to_datetime(value)
            return max(0.0, parsed.timestamp() - now)
        if "x-ratelimit-reset" in headers:
            return max(0.0, float(headers["x-ratelimit-reset"]) - now)
    except (ValueError, TypeError):
        pass
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        if isinstance(body.get("retry_after"), (int, float)):
            return float(body["retry_after"])
        rate = body.get("rateLimit")
        if isinstance(rate, dict) and isinstance(rate.get("retryAfterSec"), (int, float)):
            return float(rate["retryAfterSec"])
    return None


def _wait(policy: RetryPolicy) -> Callable[[tenacity.RetryCallState], float]:
    backoff = tenacity.wait_random_exponential(multiplier=policy.initial_wait, max=policy.max_wait)

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableResponse):
            hint = server_wait_hint(exc.response)
            if hint is not None:
                return min(hint, policy.max_wait)
        return backoff(state)

    return wait


def _transient(policy: RetryPolicy) -> Callable[[BaseException], bool]:
    def is_transient(exc: BaseException) -> bool:
        if isinstance(exc, RetryableResponse):
            return True
        return policy.transport_retries and isinstance(exc, (httpx.TimeoutException, httpx.TransportError))

    return is_transient


def send_with_retries(
    client: httpx.Client,
    method: str,
    url: str,
    policy: RetryPolicy,
    *,
    params: dict[str, Any] | None = None,
    json: Any = None,
    retry_statuses: frozenset[int] = RETRYABLE_STATUS,
    sleep: Callable[[float], None] | None = None,
    files: Any = None,
    data: dict[str, Any] | None = None,
) -> httpx.Response:
    """Send an idempotent request; retry transient failures. Returns the last response (maybe an error).

    Transport errors that outlast the attempts are raised as they are.
    """

    def attempt() -> httpx.Response:
        response = client.request(method, url, params=params, json=json, files=files, data=data)
        if response.status_code in retry_statuses:
            raise RetryableResponse(response)
        return response

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max(1, policy.attempts)),
        wait=_wait(policy),
        retry=tenacity.retry_if_exception(_transient(policy)),
        sleep=sleep or policy.sleep,
        reraise=True,
    )
    try:
        return retrying(attempt)
    except RetryableResponse as exc:
        return exc.response


def get_with_retries(
    client: httpx.Client,
    url: str,
    policy: RetryPolicy,
    params: dict[str, Any] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> httpx.Response:
    """GET ``url``; retry transient failures. Returns the last response (maybe an error)."""
    return send_with_retries(client, "GET", url, policy, params=params, sleep=sleep)
