"""Fake realtime WebSockets for both vendors, answering from the sandbox's agent configs.

Atoms (smallest-atoms-api.md §A.11): ``/atoms/v1/agent/connect``; the key as an
``Authorization: Bearer`` header or a ``token`` query parameter (both at once is refused);
an unknown agent or key is a 401 at the handshake; an invalid ``mode`` is an ``error`` event
and close code 4000; the first ``draining`` handshakes get a 503. It sends
``session.created``, speaks the live ``firstMessage`` (variables filled from
``defaultVariables`` and the session's ``variables``) unless the agent waits for the user,
answers ``input_text.send`` with ``transcript.delta`` then ``transcript`` between
``agent_start_talking``/``agent_stop_talking``, alternating the role between ``assistant``
(spec) and ``agent`` (guide), ends the call on a goodbye when the agent has an ``end_call``
tool (``session.closed`` reason ``ended``), and honours ``session.close``.

ElevenLabs (elevenlabs-convai-api.md §G): ``/v1/convai/conversation``; private agents need
a ``conversation_signature`` issued by the REST fake's signed-URL route. It sends
``conversation_initiation_metadata``, then a ``ping`` that must be answered with a ``pong``
carrying its ``event_id`` before any ``user_message`` (otherwise it closes with an error),
speaks ``first_message`` as ``agent_response`` and answers ``user_message`` turns.
The replies are deterministic echoes: this fake checks protocol handling, not intelligence.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from atoms_migrate.sandbox.atoms import FakeAtoms
from atoms_migrate.sandbox.elevenlabs import FakeElevenLabs
from atoms_migrate.sandbox.wire import Injection

_GOODBYE = re.compile(r"\b(bye|goodbye)\b", re.I)
_VAR = re.compile(r"\{\{\s*([A-Za-z_][\w.\-]*)\s*\}\}")


def _fill(text: str, variables: dict[str, Any]) -> str:
    return _VAR.sub(lambda m: str(variables.get(m.group(1), m.group(0))), text)


class FakeRealtime:
    def __init__(self, atoms: FakeAtoms, elevenlabs: FakeElevenLabs, lock: threading.RLock, draining: int = 0) -> None:
        self.atoms, self.elevenlabs, self.lock = atoms, elevenlabs, lock
        self.injections: list[Injection] = []  # the faults below, each time one is switched on
        self._draining = Injection("")
        self._header_refused = Injection("")
        self.draining = draining
        self.accept_header = True
        self.sessions: list[dict[str, Any]] = []  # what each session saw, for tests
        self.server: Any = None

    @property
    def draining(self) -> int:
        """Handshakes still to refuse with 503."""
        return self._draining_left

    @draining.setter
    def draining(self, handshakes: int) -> None:
        self._draining_left = handshakes
        if handshakes > 0:
            self._draining = Injection(f"realtime: refuse the next {handshakes} handshakes with 503")
            self.injections.append(self._draining)

    @property
    def accept_header(self) -> bool:
        """False: refuse the Authorization header (401), as a proxy that strips it would."""
        return self._accept_header

    @accept_header.setter
    def accept_header(self, accept: bool) -> None:
        self._accept_header = accept
        if not accept:
            self._header_refused = Injection("realtime: refuse the Authorization header with 401")
            self.injections.append(self._header_refused)

    # -- serving -------------------------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start in a background thread; returns the ws:// base URL."""
        from websockets.sync.server import serve

        self.server = serve(self._handle, host, port, process_request=self._process_request)
        threading.Thread(target=self.server.serve_forever, name="fake-realtime", daemon=True).start()
        bound_host, bound_port = self.server.socket.getsockname()[:2]
        return f"ws://{bound_host}:{bound_port}"

    def shutdown(self) -> None:
        if self.server is not None:
            self.server.shutdown()

    def _process_request(self, connection: Any, request: Any) -> Any:
        with self.lock:
            if self._draining_left > 0:
                self._draining_left -= 1
                self._draining.fired += 1
                return connection.respond(503, "Server is draining\n")
        path = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(path.query).items()}
        if path.path == "/atoms/v1/agent/connect":
            header = request.headers.get("Authorization")
            token = query.get("token")
            if header and token:
                return connection.respond(400, "Send the key as a header or as token, not both\n")
            if header and not self.accept_header:
                self._header_refused.fired += 1
                return connection.respond(401, "Unauthorized\n")
            key = header.removeprefix("Bearer ").strip() if header else token
            if key != self.atoms.api_key or self._atoms_config(query.get("agent_id", "")) is None:
                return connection.respond(401, "Unauthorized\n")
            return None
        if path.path == "/v1/convai/conversation":
            config = self.elevenlabs.agents.get(query.get("agent_id", ""))
            if config is None:
                return connection.respond(404, "Agent not found\n")
            private = bool(((config.get("platform_settings") or {}).get("auth") or {}).get("enable_auth"))
            if private and query.get("conversation_signature") not in self.elevenlabs.signatures:
                return connection.respond(403, "This agent requires a signed URL\n")
            return None
        return connection.respond(404, "No such realtime endpoint\n")

    def _atoms_config(self, agent_id: str) -> dict[str, Any] | None:
        with self.lock:
            agent = self.atoms.agents.get(agent_id)
            live = self.atoms._live_revision(agent) if agent and not agent.archived else None
            return dict(live.config) if live else None

    def _handle(self, ws: Any) -> None:
        path = urlsplit(ws.request.path)
        query = {k: v[0] for k, v in parse_qs(path.query).items()}
        record: dict[str, Any] = {"path": path.path, "query": query, "received": []}
        with self.lock:
            self.sessions.append(record)
        try:
            if path.path == "/atoms/v1/agent/connect":
                self._atoms_session(ws, query, record)
            else:
                self._elevenlabs_session(ws, query, record)
        except Exception:  # a client that hangs up mid-turn ends the session, as on a real server
            return

    # -- Atoms -----------------------------------------------------------------------------------

    def _atoms_session(self, ws: Any, query: dict[str, str], record: dict[str, Any]) -> None:
        if query.get("mode", "webcall") not in ("webcall", "chat"):
            ws.send(json.dumps({"type": "error", "code": "400", "message": f"invalid mode {query['mode']!r}"}))
            ws.close(4000, "invalid mode")
            return
        config = self._atoms_config(query["agent_id"]) or {}
        variables = {**(config.get("defaultVariables") or {}), **json.loads(query.get("variables") or "{}")}
        tools = (config.get("singlePromptConfig") or {}).get("tools") or []
        can_end = any(t.get("type") == "end_call" for t in tools if isinstance(t, dict))
        ws.send(
            json.dumps(
                {
                    "type": "session.created",
                    "session_id": uuid.uuid4().hex,
                    "call_id": uuid.uuid4().hex,
                    "sample_rate": 24000,
                    "channels": 1,
                }
            )
        )
        turn = 0
        if config.get("firstMessage") and not config.get("waitForUserToSpeakFirst"):
            self._atoms_say(ws, _fill(str(config["firstMessage"]), variables), turn)
        for raw in ws:
            message = json.loads(raw)
            record["received"].append(message)
            kind = message.get("type")
            if kind == "session.close":
                ws.send(json.dumps({"type": "session.closed", "reason": "client_requested"}))
                ws.close()
                return
            if kind != "input_text.send":
                continue
            turn += 1
            text = str(message.get("text") or "")
            if _GOODBYE.search(text) and can_end:
                self._atoms_say(ws, "Goodbye, and thank you for calling.", turn)
                ws.send(json.dumps({"type": "session.closed", "reason": "ended"}))
                ws.close()
                return
            self._atoms_say(ws, f"You asked: {text}", turn)

    @staticmethod
    def _atoms_say(ws: Any, text: str, turn: int) -> None:
        role = "assistant" if turn % 2 == 0 else "agent"  # both spellings occur (§A.4 CONFLICT)
        ws.send(json.dumps({"type": "agent_start_talking"}))
        ws.send(json.dumps({"type": "transcript.delta", "role": role, "text": text[: max(1, len(text) // 2)]}))
        ws.send(json.dumps({"type": "transcript", "role": role, "text": text}))
        ws.send(json.dumps({"type": "agent_stop_talking"}))

    # -- ElevenLabs --------------------------------------------------------------------------------

    def _elevenlabs_session(self, ws: Any, query: dict[str, str], record: dict[str, Any]) -> None:
        with self.lock:
            config = dict(self.elevenlabs.agents[query["agent_id"]])
        agent = (config.get("conversation_config") or {}).get("agent") or {}
        prompt = agent.get("prompt") or {}
        built_in = prompt.get("built_in_tools") or {}
        can_end = isinstance(built_in, dict) and bool(built_in.get("end_call"))
        variables = dict(((agent.get("dynamic_variables") or {}).get("dynamic_variable_placeholders")) or {})
        first = json.loads(ws.recv(timeout=5))
        record["received"].append(first)
        if first.get("type") == "conversation_initiation_client_data":
            variables.update(first.get("dynamic_variables") or {})
        ws.send(
            json.dumps(
                {
                    "type": "conversation_initiation_metadata",
                    "conversation_initiation_metadata_event": {
                        "conversation_id": uuid.uuid4().hex,
                        "agent_output_audio_format": "pcm_16000",
                        "user_input_audio_format": "pcm_16000",
                    },
                }
            )
        )
        ws.send(json.dumps({"type": "ping", "ping_event": {"event_id": 1, "ping_ms": None}}))
        ponged, event_id = False, 1
        if agent.get("first_message"):
            event_id += 1
            ws.send(
                json.dumps(
                    {
                        "type": "agent_response",
                        "agent_response_event": {
                            "agent_response": _fill(str(agent["first_message"]), variables),
                            "event_id": event_id,
                        },
                    }
                )
            )
        for raw in ws:
            message = json.loads(raw)
            record["received"].append(message)
            if message.get("type") == "pong":
                ponged = ponged or message.get("event_id") == 1
                continue
            if message.get("type") != "user_message":
                continue
            if not ponged:
                ws.send(json.dumps({"type": "error", "error_event": {"message": "ping was not answered"}}))
                ws.close(1008, "missed pong")
                return
            text = str(message.get("text") or "")
            event_id += 1
            reply = "Goodbye, and thank you for calling." if _GOODBYE.search(text) and can_end else f"You asked: {text}"
            ws.send(
                json.dumps(
                    {"type": "agent_response", "agent_response_event": {"agent_response": reply, "event_id": event_id}}
                )
            )
            if _GOODBYE.search(text) and can_end:
                ws.close()
                return
