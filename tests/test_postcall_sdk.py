"""Our webhook requests against the vendor SDK's (smallestai 5.14.0): same paths, same body keys.

The SDK's generated models accept unknown keys, so the bodies are compared key by key, as
each client sends them through an ``httpx.MockTransport`` that records the request. Skipped
where the SDK is not installed (it is not a dependency).
"""

from __future__ import annotations

import json

import httpx
import pytest

from atoms_migrate.platforms.smallest import AtomsClient

smallestai = pytest.importorskip("smallestai")


def _recorder() -> tuple[list[httpx.Request], httpx.MockTransport]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": True, "data": "0123456789abcdef01234567"})

    return seen, httpx.MockTransport(handler)


def _shape(request: httpx.Request) -> tuple[str, str, object]:
    body = json.loads(request.content) if request.content else None

    def keys(value: object) -> object:
        if isinstance(value, dict):
            return {k: keys(v) for k, v in value.items()}
        if isinstance(value, list):
            return [keys(v) for v in value]
        return type(value).__name__

    return request.method, request.url.path, keys(body)


def test_webhook_requests_match_the_vendor_sdk() -> None:
    ours, transport = _recorder()
    client = AtomsClient(httpx.Client(base_url="https://api.smallest.ai", transport=transport))
    client.create_webhook("https://hooks.example.com/x", "d", [{"agentId": "a1", "eventType": "post-conversation"}])
    client.subscribe_webhook("a1", "w1", ["post-conversation", "analytics-completed"])
    client.delete_webhook_subscriptions("a1")
    client.list_webhook_subscriptions("a1")
    client.list_webhooks()

    theirs, sdk_transport = _recorder()
    sdk = smallestai.SmallestAI(api_key="sk_test", httpx_client=httpx.Client(transport=sdk_transport))
    hooks = sdk.atoms.webhooks
    hooks.create(
        endpoint="https://hooks.example.com/x",
        description="d",
        events=[{"agent_id": "a1", "event_type": "post-conversation"}],
    )
    hooks.replace_webhook_subscriptions_for_an_agent(
        "a1", webhook_id="w1", event_types=["post-conversation", "analytics-completed"]
    )
    hooks.delete_webhook_subscriptions_for_an_agent("a1")
    hooks.get_webhook_subscriptions_for_an_agent("a1")
    hooks.get_webhooks()
    assert [_shape(r) for r in ours] == [_shape(r) for r in theirs]
