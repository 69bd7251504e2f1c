"""The retry policy (platforms/retry.py): jittered, capped back-off; server hints win; writes are not repeated."""

from __future__ import annotations

import random

import httpx
import pytest
import respx

from atoms_migrate.platforms.retry import RetryPolicy, send_with_retries

BASE = "https://api.test"


def _waits(policy: RetryPolicy, responses: list[httpx.Response | Exception], method: str = "GET") -> list[float]:
    waits: list[float] = []
    with respx.mock(base_url=BASE) as mock, httpx.Client(base_url=BASE) as http:
        mock.route(method=method, path="/x").side_effect = responses
        send_with_retries(http, method, "/x", policy, sleep=waits.append)
    return waits


def test_back_off_is_full_jitter_under_an_exponential_cap() -> None:
    policy = RetryPolicy(attempts=6, initial_wait=1.0, max_wait=5.0)
    random.seed(17)
    runs = [_waits(policy, [httpx.Response(503)] * 5 + [httpx.Response(200)]) for _ in range(20)]
    for waits in runs:
        assert len(waits) == 5
        # attempt n waits a random time in [0, min(max_wait, initial_wait * 2**(n-1))]
        assert all(0 <= wait <= min(5.0, 2.0**n) for n, wait in enumerate(waits))
    # jitter: workers that failed together do not retry together (no two runs wait the same)
    assert len({tuple(waits) for waits in runs}) == len(runs)
    assert any(waits[4] < 4.0 for waits in runs)  # not pinned to the cap


def test_a_server_wait_hint_replaces_the_back_off_but_not_the_cap() -> None:
    policy = RetryPolicy(attempts=3, initial_wait=1.0, max_wait=5.0)
    waits = _waits(
        policy,
        [httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(429, headers={"Retry-After": "600"}),
         httpx.Response(200)],
    )  # fmt: skip
    assert waits == [2.0, 5.0]


def test_transport_errors_are_retried_only_when_the_policy_allows() -> None:
    dropped = httpx.ConnectError("connection reset")
    assert len(_waits(RetryPolicy(attempts=3, initial_wait=0), [dropped, dropped, httpx.Response(200)])) == 2
    with pytest.raises(httpx.ConnectError):
        _waits(RetryPolicy(attempts=3, initial_wait=0, transport_retries=False), [dropped], method="POST")


def test_the_last_transient_answer_is_returned_when_attempts_run_out() -> None:
    with respx.mock(base_url=BASE) as mock, httpx.Client(base_url=BASE) as http:
        route = mock.get("/x").respond(502)
        response = send_with_retries(http, "GET", "/x", RetryPolicy(attempts=3, initial_wait=0), sleep=lambda s: None)
    assert response.status_code == 502 and route.call_count == 3
