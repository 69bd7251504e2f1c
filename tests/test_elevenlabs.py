"""The ElevenLabs reader against respx routes that check the auth header and path."""

from __future__ import annotations

import httpx
import pytest
import respx

from atoms_migrate.errors import ApiError
from atoms_migrate.platforms.elevenlabs import ElevenLabsClient
from atoms_migrate.platforms.retry import RetryPolicy, get_with_retries, server_wait_hint

BASE = "https://api.eu.residency.elevenlabs.io"
KEY = "xi-test-key-123456"
AUTH = {"xi-api-key": KEY}


@pytest.fixture
def client():
    with respx.mock(base_url=BASE, assert_all_called=True) as mock:
        http = httpx.Client(base_url=BASE, headers=AUTH)
        yield ElevenLabsClient(http, RetryPolicy(attempts=3, initial_wait=0, max_wait=0)), mock


def test_get_agent_sends_key_to_the_configured_host(client) -> None:
    el, mock = client
    mock.get("/v1/convai/agents/agent_1", headers=AUTH).respond(200, json={"agent_id": "agent_1", "name": "A"})
    assert el.get_agent("agent_1")["name"] == "A"


def test_get_tool(client) -> None:
    el, mock = client
    mock.get("/v1/convai/tools/tool_1", headers=AUTH).respond(
        200, json={"id": "tool_1", "tool_config": {"type": "webhook"}}
    )
    assert el.get_tool("tool_1")["tool_config"]["type"] == "webhook"


@pytest.mark.parametrize(
    "status, body, fragment, hint_fragment",
    [
        (
            401,
            {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}},
            "rejected the API key",
            "ELEVENLABS_API_KEY",
        ),
        (
            403,
            {"detail": {"type": "authorization_error", "code": "missing_permissions", "message": "no convai_read"}},
            "refused access",
            "read access",
        ),
        (404, {"detail": "agent_not_found"}, "has no agent agent_1", "another region"),
        (
            422,
            {"detail": [{"loc": ["path", "agent_id"], "msg": "bad id", "type": "value_error"}]},
            "path.agent_id: bad id",
            None,
        ),
    ],
)
def test_client_errors_become_one_line_api_errors(client, status, body, fragment, hint_fragment) -> None:
    el, mock = client
    mock.get("/v1/convai/agents/agent_1").respond(status, json=body)
    with pytest.raises(ApiError) as exc:
        el.get_agent("agent_1")
    assert exc.value.status == status
    assert fragment in exc.value.message and "\n" not in exc.value.message
    if hint_fragment:
        assert hint_fragment in exc.value.hint


def test_rate_limit_is_retried_honouring_retry_after() -> None:
    waits: list[float] = []
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/v1/convai/agents/a")
        route.side_effect = [
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.Response(503),
            httpx.Response(200, json={"ok": 1}),
        ]
        with httpx.Client(base_url=BASE) as http:
            response = get_with_retries(
                http, "/v1/convai/agents/a", RetryPolicy(attempts=4, initial_wait=0.01, max_wait=5), sleep=waits.append
            )
    assert response.status_code == 200 and route.call_count == 3
    assert waits[0] == 2.0 and waits[1] <= 5


def test_server_errors_exhaust_retries_then_fail(client) -> None:
    el, mock = client
    route = mock.get("/v1/convai/agents/agent_1").respond(500, json={"detail": {"message": "boom"}})
    with pytest.raises(ApiError, match="still answered 500 .* after 3 attempts: boom"):
        el.get_agent("agent_1")
    assert route.call_count == 3


def test_dropped_connections_are_retried_then_reported(client) -> None:
    el, mock = client
    route = mock.get("/v1/convai/agents/agent_1").mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(ApiError, match="Could not reach ElevenLabs"):
        el.get_agent("agent_1")
    assert route.call_count == 3


@pytest.mark.parametrize(
    "headers, body, expected",
    [
        ({"retry-after-ms": "1500"}, None, 1.5),
        ({"retry-after": "7"}, None, 7.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, None, 10.0),
        ({}, {"rateLimit": {"retryAfterSec": 60}}, 60.0),
        ({}, {"retry_after": 3}, 3.0),
        ({}, {"x": 1}, None),
    ],
)
def test_wait_hints(headers, body, expected) -> None:
    response = (
        httpx.Response(429, headers=headers, json=body) if body is not None else httpx.Response(429, headers=headers)
    )
    now = 1445412480.0  # 07:28:00 on that date
    assert server_wait_hint(response, now=now) == expected
