"""The Atoms webhook endpoints of the fake (smallest-atoms-api.md §K.3, SDK 5.14.0 ``webhooks``).

Traps kept on purpose: a second webhook with the same URL is refused (400 "A webhook with
this URL has already been registered"); ``POST /agent/{id}/webhook-subscriptions`` *replaces*
all the agent's subscriptions (whichever webhook they were on) and ``DELETE`` removes all of
them (SDK docstrings); a webhook with subscriptions cannot be deleted. Every webhook carries
its signing secret (``decryptedSecretKey``), as the list does in production.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from atoms_migrate.sandbox.wire import FakeRequest, FakeResponse, json_response

EVENT_TYPES = ("pre-conversation", "post-conversation", "analytics-completed")


def _bad(message: str) -> FakeResponse:
    return json_response(400, {"status": False, "errors": [message]})


class FakeWebhooks:
    def __init__(self, new_id: Any, agent_name: Any) -> None:
        self.new_id, self.agent_name = new_id, agent_name  # id maker and agent id -> name (None: unknown)
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.subscriptions: list[dict[str, str]] = []  # {_id, webhookId, agentId, eventType}
        self._secrets = itertools.count(1)

    def _view(self, hook: dict[str, Any]) -> dict[str, Any]:
        subs = [
            {
                "_id": s["_id"],
                "webhookId": s["webhookId"],
                "eventType": s["eventType"],
                "agentId": {"_id": s["agentId"], "name": self.agent_name(s["agentId"])},
            }
            for s in self.subscriptions
            if s["webhookId"] == hook["_id"]
        ]
        return {**hook, "subscriptions": subs}

    def _subscribe(self, agent_id: str, webhook_id: str, event_type: str) -> None:
        self.subscriptions.append(
            {"_id": self.new_id(), "webhookId": webhook_id, "agentId": agent_id, "eventType": event_type}
        )

    def handle(self, req: FakeRequest, path: str, body: Any) -> FakeResponse | None:
        """Answer ``path`` (below /atoms/v1) when it is a webhook route; None otherwise."""
        if path == "/webhook" and req.method == "GET":
            wanted = req.query.get("webhookId")
            if wanted:
                hook = self.webhooks.get(wanted)
                return (
                    json_response(200, {"status": True, "data": self._view(hook)})
                    if hook
                    else _bad("Webhook not found")
                )
            return json_response(200, {"status": True, "data": [self._view(h) for h in self.webhooks.values()]})
        if path == "/webhook" and req.method == "POST":
            return self._create(body if isinstance(body, dict) else {})
        m = re.fullmatch(r"/webhook/([^/]+)", path)
        if m and req.method == "DELETE":
            if m.group(1) not in self.webhooks:
                return _bad("Invalid webhook ID format")
            if any(s["webhookId"] == m.group(1) for s in self.subscriptions):
                return _bad("Webhook has active agent subscriptions; remove them first")
            del self.webhooks[m.group(1)]
            return json_response(200, {"status": True, "data": "Webhook deleted"})
        m = re.fullmatch(r"/agent/([^/]+)/webhook-subscriptions", path)
        if not m:
            return None
        agent_id = m.group(1)
        if self.agent_name(agent_id) is None:
            return _bad("No agent found")
        if req.method == "GET":
            return json_response(
                200, {"status": True, "data": [dict(s) for s in self.subscriptions if s["agentId"] == agent_id]}
            )
        if req.method == "DELETE":
            self.subscriptions = [s for s in self.subscriptions if s["agentId"] != agent_id]
            return json_response(200, {"status": True, "data": "Subscriptions deleted"})
        if req.method == "POST":
            body = body if isinstance(body, dict) else {}
            hook_id, types = body.get("webhookId"), body.get("eventTypes")
            if hook_id not in self.webhooks:
                return _bad("webhookId: webhook not found")
            if not isinstance(types, list) or not types or any(t not in EVENT_TYPES for t in types):
                return _bad(f"eventTypes: expected a non-empty array of {', '.join(EVENT_TYPES)}")
            self.subscriptions = [s for s in self.subscriptions if s["agentId"] != agent_id]  # replaces them all
            for event_type in dict.fromkeys(types):
                self._subscribe(agent_id, hook_id, event_type)
            return json_response(201, {"status": True, "data": "Subscriptions created"})
        return None

    def _create(self, body: dict[str, Any]) -> FakeResponse:
        endpoint, events = body.get("endpoint"), body.get("events")
        if not isinstance(endpoint, str) or not re.match(r"^https?://[^/\s]+", endpoint):
            return _bad("endpoint: Invalid url")
        if not isinstance(body.get("description"), str):
            return _bad("description: Required")
        if not isinstance(events, list):
            return _bad("events: Expected array")
        if any(h["url"] == endpoint for h in self.webhooks.values()):
            return _bad("A webhook with this URL has already been registered")
        for event in events:
            if (
                not isinstance(event, dict)
                or event.get("eventType") not in EVENT_TYPES
                or self.agent_name(event.get("agentId")) is None
            ):
                return _bad("events: each needs an existing agentId and an eventType of " + ", ".join(EVENT_TYPES))
        hook_id = self.new_id()
        self.webhooks[hook_id] = {
            "_id": hook_id,
            "url": endpoint,
            "description": body["description"],
            "status": "enabled",
            "organizationId": "sandbox-org",
            "decryptedSecretKey": f"whsec_sandbox_{next(self._secrets):08d}",
        }
        for event in events:
            self._subscribe(str(event["agentId"]), hook_id, str(event["eventType"]))
        return json_response(201, {"status": True, "data": hook_id})
