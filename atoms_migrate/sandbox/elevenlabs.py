"""A fake of the ElevenLabs read API the migrator uses (elevenlabs-convai-api.md §A–§E).

Agents, tools, voices and knowledge-base documents are seeded with their raw JSON and
served back as they are, so any shape the real API or an export produced can be
rehearsed. Voice sample audio, document content and original files are served as bytes. ``xi-api-key`` is checked
(401 ``invalid_api_key``), unknown ids are 404s in the documented ``detail`` shape (§F.1),
and the agent list pages with ``page_size``/``cursor``/``has_more`` (§B).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from atoms_migrate.sandbox.wire import FakeRequest, FakeResponse, json_response


def _error(status: int, code: str, message: str) -> FakeResponse:
    return json_response(
        status,
        {
            "detail": {
                "type": "invalid_request",
                "code": code,
                "status": code,
                "message": message,
                "request_id": "sandbox",
            }
        },
    )


class FakeElevenLabs:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.agents: dict[str, dict[str, Any]] = {}
        self.tools: dict[str, dict[str, Any]] = {}
        self.voices: dict[str, dict[str, Any]] = {}
        self.documents: dict[str, dict[str, Any]] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}  # workspace webhooks by id
        self.post_call_settings: dict[
            str, Any
        ] = {}  # the workspace's convai settings ``webhooks`` (its default post-call webhook)
        self.blobs: dict[str, tuple[bytes, str]] = {}  # path -> (bytes, content type)
        self.realtime_url: str | None = None  # the fake conversation WebSocket, when served
        self.signatures: set[str] = set()  # conversation_signature values issued by get-signed-url

    def add_voice(self, record: dict[str, Any], audio: bytes | None = None, mime_type: str = "audio/mpeg") -> str:
        """A voice record (EL §E.2); with ``audio``, one sample served at its samples route."""
        stored = copy.deepcopy(record)
        voice_id: str = stored.setdefault("voice_id", f"voice_sandbox{len(self.voices) + 1:04d}")
        if audio is not None:
            sample_id = f"sample_{voice_id}"
            stored["samples"] = [
                {"sample_id": sample_id, "file_name": "sample.mp3", "mime_type": mime_type, "size_bytes": len(audio)}
            ]
            self.blobs[f"/v1/voices/{voice_id}/samples/{sample_id}/audio"] = (audio, mime_type)
        self.voices[voice_id] = stored
        return voice_id

    def add_document(self, record: dict[str, Any], content: str = "", file: tuple[bytes, str] | None = None) -> str:
        """A knowledge-base document (EL §D.2) with its extracted content and, for files, the original."""
        stored = copy.deepcopy(record)
        doc_id: str = stored.setdefault("id", f"doc_sandbox{len(self.documents) + 1:04d}")
        stored.setdefault("name", doc_id)
        stored.setdefault(
            "metadata", {"created_at_unix_secs": 0, "last_updated_at_unix_secs": 0, "size_bytes": len(content)}
        )
        self.documents[doc_id] = stored
        self.blobs[f"/v1/convai/knowledge-base/{doc_id}/content"] = (content.encode(), "text/html; charset=utf-8")
        if file is not None:
            self.blobs[f"/_sandbox/elevenlabs/files/{doc_id}"] = file
        return doc_id

    def add_agent(self, config: dict[str, Any], agent_id: str | None = None) -> str:
        agent_id = agent_id or config.get("agent_id") or f"agent_sandbox{len(self.agents) + 1:04d}"
        stored = copy.deepcopy(config)
        stored.setdefault("agent_id", agent_id)
        self.agents[agent_id] = stored
        return agent_id

    def add_tool(self, record: dict[str, Any], tool_id: str | None = None) -> str:
        tool_id = tool_id or record.get("id") or f"tool_sandbox{len(self.tools) + 1:04d}"
        stored: dict[str, Any] = (
            copy.deepcopy(record) if "tool_config" in record else {"tool_config": copy.deepcopy(record)}
        )
        stored["id"] = tool_id
        self.tools[tool_id] = stored
        return tool_id

    def add_webhook(
        self, url: str, name: str = "", webhook_id: str | None = None, workspace_default: bool = False
    ) -> str:
        """A workspace webhook (EL SDK ``WorkspaceWebhookResponseModel``), for post-call webhooks."""
        webhook_id = webhook_id or f"wh_{len(self.webhooks) + 1:06d}"
        self.webhooks[webhook_id] = {
            "name": name or url,
            "webhook_id": webhook_id,
            "webhook_url": url,
            "is_disabled": False,
            "is_auto_disabled": False,
            "created_at_unix": 0,
            "auth_type": "hmac",
        }
        if workspace_default:
            self.post_call_settings = {"post_call_webhook_id": webhook_id, "events": ["transcript"]}
        return webhook_id

    def handle(self, req: FakeRequest) -> FakeResponse:
        if req.headers.get("xi-api-key") != self.api_key:
            return _error(401, "invalid_api_key", "Invalid API key")
        if req.method != "GET":
            return _error(405, "method_not_allowed", "The sandbox ElevenLabs API is read-only")
        if req.path == "/v1/workspace/webhooks":
            return json_response(200, {"webhooks": list(self.webhooks.values())})
        if req.path == "/v1/convai/settings":
            return json_response(200, {"webhooks": dict(self.post_call_settings), "can_use_mcp_servers": True})
        if req.path == "/v1/convai/agents":
            return self._list(req)
        m = re.fullmatch(r"/v1/convai/agents/([^/]+)", req.path)
        if m:
            agent = self.agents.get(m.group(1))
            if agent is None:
                return _error(404, "agent_not_found", f"Agent {m.group(1)} not found")
            return json_response(200, agent)
        if req.path in self.blobs:
            body, content_type = self.blobs[req.path]
            return FakeResponse(200, body, {"content-type": content_type})
        for pattern, records, what in (
            (r"/v1/convai/tools/([^/]+)", self.tools, "tool"),
            (r"/v1/voices/([^/]+)", self.voices, "voice"),
            (r"/v1/convai/knowledge-base/([^/]+)", self.documents, "document"),
        ):
            m = re.fullmatch(pattern, req.path)
            if m:
                record = records.get(m.group(1))
                if record is None:
                    return _error(404, f"{what}_not_found", f"{what.title()} {m.group(1)} not found")
                return json_response(200, record)
        if req.path in ("/v1/convai/conversation/get-signed-url", "/v1/convai/conversation/get_signed_url"):
            return self._signed_url(req)
        m = re.fullmatch(r"/v1/convai/knowledge-base/([^/]+)/source-file-url", req.path)
        if m and f"/_sandbox/elevenlabs/files/{m.group(1)}" in self.blobs:
            return json_response(200, {"signed_url": f"/_sandbox/elevenlabs/files/{m.group(1)}"})
        return _error(404, "not_found", f"No route {req.path}")

    def _signed_url(self, req: FakeRequest) -> FakeResponse:
        """EL §G.1: a URL carrying a conversation_signature the fake WebSocket accepts."""
        agent_id = req.query.get("agent_id", "")
        if agent_id not in self.agents:
            return _error(404, "agent_not_found", f"Agent {agent_id} not found")
        if not self.realtime_url:
            return _error(503, "unavailable", "The sandbox conversation WebSocket is not running")
        signature = f"sig_{len(self.signatures) + 1:06d}"
        self.signatures.add(signature)
        return json_response(
            200,
            {
                "signed_url": f"{self.realtime_url}/v1/convai/conversation?agent_id={agent_id}"
                f"&conversation_signature={signature}"
            },
        )

    def _list(self, req: FakeRequest) -> FakeResponse:
        size = min(100, max(1, int(req.query.get("page_size", "30"))))
        start = int(req.query.get("cursor") or 0)
        search = (req.query.get("search") or "").lower()
        ids = [i for i in sorted(self.agents) if search in str(self.agents[i].get("name") or i).lower()]
        page = ids[start : start + size]
        more = start + size < len(ids)
        agents = [
            {
                "agent_id": i,
                "name": self.agents[i].get("name") or i,
                "tags": list(self.agents[i].get("tags") or []),
                "access_info": {},
                "voice_id": (self.agents[i].get("conversation_config") or {}).get("tts", {}).get("voice_id", ""),
                "created_at_unix_secs": 0,
                "updated_at_unix_secs": 0,
            }
            for i in page
        ]
        body: dict[str, Any] = {"agents": agents, "has_more": more}
        if more:
            body["next_cursor"] = str(start + size)
        return json_response(200, body)
