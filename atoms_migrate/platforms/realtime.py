"""Text sessions with a live agent over each vendor's realtime WebSocket (websockets, sync API).

``AtomsSession`` speaks the Atoms agent protocol (smallest-atoms-api.md §A.1–§A.4, §A.11):
``…/atoms/v1/agent/connect`` with ``agent_id``, ``mode=chat`` and optional ``variables``;
the key goes in an ``Authorization: Bearer`` header, and the ``token`` query parameter is
the fallback when the handshake refuses the header (never both). A 503 means the server
is draining: retried with back-off, a bounded number of times. It waits for
``session.created``, sends ``input_text.send`` turns, and reads ``transcript`` /
``transcript.delta`` with role ``agent`` *or* ``assistant`` (the guide and the spec disagree,
§A.4), ``agent_start_talking``, ``agent_stop_talking``, ``interruption``, ``error`` and
``session.closed``; ``close`` sends ``session.close``.

``ElevenLabsSession`` speaks the ElevenLabs protocol (elevenlabs-convai-api.md §G): the
conversation URL with ``agent_id`` (or a signed URL for private agents), a
``conversation_initiation_client_data`` message carrying the dynamic variables, text turns as
``user_message``, replies as ``agent_response``, and every ``ping`` answered with a ``pong``
carrying its ``event_id``. Both return ``Turn`` values; neither prints.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from atoms_migrate.errors import MigrationError

AGENT_ROLES = {"agent", "assistant"}
CONNECT_RETRIES = 3
SETTLE = 0.3  # seconds to keep reading after a final reply, to catch the end of the turn or of the call


class RealtimeError(MigrationError):
    """A realtime session could not be opened or broke."""


@dataclass
class Turn:
    user: str | None  # None for the agent's opening turn
    reply: str = ""
    events: list[str] = field(default_factory=list)
    ended: bool = False  # the agent ended the session (end of call)
    error: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "reply": self.reply,
            "events": self.events,
            "ended": self.ended,
            "error": self.error,
            "seconds": round(self.seconds, 3),
        }


def realtime_url(base: str, path: str) -> str:
    """ws:// for an http:// base, wss:// for https://; the path replaces any API prefix."""
    parts = urlsplit(base)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise RealtimeError(
            f"{base!r} is not an http(s) or ws(s) URL", "Check SMALLEST_BASE_URL / ELEVENLABS_BASE_URL."
        )
    if parts.scheme in ("ws", "wss") and parts.path not in ("", "/"):
        return base  # already a realtime URL (an explicit override)
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _status_of(exc: Exception) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


Connect = Callable[..., Any]


def _default_connect(url: str, **kwargs: Any) -> Any:
    from websockets.sync.client import connect  # imported here: only verify needs it

    return connect(url, **kwargs)


class _Session:
    """Shared plumbing: connect with retries, receive with deadlines."""

    name = "agent"

    def __init__(
        self,
        turn_timeout: float = 20.0,
        connect: Connect | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.turn_timeout, self.connect_fn, self.sleep, self.clock = (
            turn_timeout,
            connect or _default_connect,
            sleep,
            clock,
        )
        self.ws: Any = None
        self.closed = False
        self._stack = contextlib.ExitStack()  # websockets 17 wants connect() used as a context manager

    def _open(self, url: str, headers: dict[str, str] | None = None) -> Any:
        """Connect; retry a 503 (draining) with back-off. Returns the connection or raises."""
        delay = 0.5
        for attempt in range(1, CONNECT_RETRIES + 2):
            try:
                opened = self.connect_fn(
                    url, additional_headers=headers or None, open_timeout=self.turn_timeout, max_size=None, proxy=None
                )
                return self._stack.enter_context(opened) if hasattr(opened, "__enter__") else opened
            except Exception as exc:  # websockets raises InvalidStatus, OSError, TimeoutError...
                status = _status_of(exc)
                if status == 503 and attempt <= CONNECT_RETRIES:
                    self.sleep(delay)
                    delay *= 2
                    continue
                raise _Refused(status, exc) from exc
        raise AssertionError("unreachable")

    def _recv(self, deadline: float) -> dict[str, Any] | None:
        """The next JSON message, or None when the deadline passes; raises _Closed when the socket closes."""
        remaining = deadline - self.clock()
        if remaining <= 0:
            return None
        try:
            raw = self.ws.recv(timeout=remaining)
        except TimeoutError:
            return None
        except Exception as exc:  # ConnectionClosed and friends
            self.closed = True
            raise _Closed(str(exc)) from exc
        if isinstance(raw, bytes):
            return {"type": "binary"}
        try:
            message = json.loads(raw)
        except ValueError:
            return {"type": "unparsed"}
        return message if isinstance(message, dict) else {"type": "unparsed"}

    def _send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def _starting(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        """The next message while the session starts; a close or a timeout is an error."""
        try:
            message = self._recv(deadline)
        except _Closed as exc:
            raise RealtimeError(f"the {self.name} session closed before it started: {exc}") from None
        if message is None:
            raise RealtimeError(f"no {waiting_for} from {self.name} within {self.turn_timeout:.0f} s")
        return message

    def _user_turn(self, text: str) -> dict[str, Any]:
        raise NotImplementedError

    def _take(self, message: dict[str, Any], turn: Turn) -> str:
        """Record one message in ``turn``; "final" (the reply is complete), "settle", "stop" or ""."""
        raise NotImplementedError

    def say(self, text: str) -> Turn:
        turn = Turn(user=text)
        if self.closed:
            turn.error = "the session had already ended"
            return turn
        self._send(self._user_turn(text))
        return self._collect(turn, self.turn_timeout)

    def _collect(self, turn: Turn, timeout: float) -> Turn:
        """Read until the reply is final (plus a moment, to see the turn or the call end) or time runs out."""
        started = self.clock()
        deadline = started + timeout
        final = False
        while True:
            try:
                message = self._recv(deadline)
            except _Closed:
                turn.ended = True
                break
            if message is None:
                if not final and turn.user is not None:
                    turn.error = f"no reply within {timeout:.0f} s"
                break
            outcome = self._take(message, turn)
            if outcome == "stop":
                break
            if outcome == "final" or (outcome == "settle" and final):
                final = True
                deadline = min(deadline, self.clock() + SETTLE)
        turn.seconds = self.clock() - started
        return turn

    def shutdown(self) -> None:
        if self.ws is not None and not self.closed:
            try:
                self.ws.close()
            except Exception:  # closing a broken socket is best-effort
                pass
        self.closed = True
        try:
            self._stack.close()
        except Exception:
            pass


class _Refused(Exception):
    def __init__(self, status: int | None, cause: Exception) -> None:
        super().__init__(str(cause))
        self.status, self.cause = status, cause


class _Closed(Exception):
    pass


class AtomsSession(_Session):
    name = "Smallest Atoms"

    def __init__(
        self, url: str, api_key: str, agent_id: str, variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.url, self.api_key, self.agent_id, self.variables = url, api_key, agent_id, variables or {}
        self.session: dict[str, Any] = {}

    def open(self) -> dict[str, Any]:
        params = {"agent_id": self.agent_id, "mode": "chat"}
        if self.variables:
            params["variables"] = json.dumps(self.variables)
        try:
            self.ws = self._open(_with_query(self.url, params), {"Authorization": f"Bearer {self.api_key}"})
        except _Refused as exc:
            if exc.status not in (401, 403):
                raise RealtimeError(
                    f"could not open the Atoms session: {exc}", "Check SMALLEST_BASE_URL and the agent id."
                ) from None
            try:  # §A.11: the token query parameter is the other form; never both
                self.ws = self._open(_with_query(self.url, {**params, "token": self.api_key}))
            except _Refused as again:
                raise RealtimeError(
                    f"Atoms refused the session ({again.status or again}): bad key or unknown agent {self.agent_id}",
                    "Check SMALLEST_API_KEY and --target.",
                ) from None
        deadline = self.clock() + self.turn_timeout
        while True:
            message = self._starting(deadline, "session.created")
            if message.get("type") == "session.created":
                self.session = message
                return message
            if message.get("type") == "error":
                raise RealtimeError(f"Atoms refused the session: {message.get('code')} {message.get('message')}")

    def opening(self, wait: float | None = None) -> Turn:
        return self._collect(Turn(user=None), wait if wait is not None else self.turn_timeout)

    def _user_turn(self, text: str) -> dict[str, Any]:
        return {"type": "input_text.send", "text": text}

    def _take(self, message: dict[str, Any], turn: Turn) -> str:
        kind = str(message.get("type"))
        turn.events.append(kind)
        if kind == "transcript.delta" and message.get("role") in AGENT_ROLES:
            turn.reply = str(message.get("text") or "")  # cumulative: replace, do not append (§A.11)
        elif kind == "transcript" and message.get("role") in AGENT_ROLES:
            turn.reply = str(message.get("text") or "")
            return "final"
        elif kind == "agent_stop_talking":
            return "settle"
        elif kind == "session.closed":
            turn.ended = message.get("reason") != "client_requested"
            self.closed = True
            return "stop"
        elif kind == "error":
            turn.error = f"{message.get('code')}: {message.get('message')}"
        return ""

    def close(self) -> None:
        if self.ws is not None and not self.closed:
            try:
                self._send({"type": "session.close"})
                deadline = self.clock() + 2.0
                while (message := self._recv(deadline)) is not None and message.get("type") != "session.closed":
                    pass
            except (_Closed, Exception):
                pass
        self.shutdown()


class ElevenLabsSession(_Session):
    name = "ElevenLabs"

    def __init__(
        self,
        url: str,
        agent_id: str,
        variables: dict[str, Any] | None = None,
        signed_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.url, self.agent_id, self.variables, self.signed_url = url, agent_id, variables or {}, signed_url
        self.pongs = 0
        self._pending_opening: Turn | None = None

    def open(self) -> dict[str, Any]:
        target = self.signed_url or _with_query(self.url, {"agent_id": self.agent_id})
        try:
            self.ws = self._open(target)
        except _Refused as exc:
            raise RealtimeError(
                f"could not open the ElevenLabs session ({exc.status or exc})",
                "Private agents need a signed URL: ELEVENLABS_API_KEY must be set.",
            ) from None
        self._send({"type": "conversation_initiation_client_data", "dynamic_variables": self.variables})
        deadline = self.clock() + self.turn_timeout
        opening = Turn(user=None)
        while True:
            message = self._starting(deadline, "conversation_initiation_metadata")
            if self._answer_ping(message):
                continue
            if message.get("type") == "conversation_initiation_metadata":
                self._pending_opening = opening
                return message
            opening.events.append(str(message.get("type")))

    def _answer_ping(self, message: dict[str, Any]) -> bool:
        if message.get("type") != "ping":
            return False
        event = message.get("ping_event") or {}
        self._send({"type": "pong", "event_id": event.get("event_id")})
        self.pongs += 1
        return True

    def opening(self, wait: float | None = None) -> Turn:
        return self._collect(self._pending_opening or Turn(user=None), wait if wait is not None else self.turn_timeout)

    def _user_turn(self, text: str) -> dict[str, Any]:
        return {"type": "user_message", "text": text}

    def _take(self, message: dict[str, Any], turn: Turn) -> str:
        if self._answer_ping(message):
            return ""
        kind = str(message.get("type"))
        turn.events.append(kind)
        if kind == "agent_response":
            turn.reply = str((message.get("agent_response_event") or {}).get("agent_response") or "")
            return "final"
        if kind == "error":
            turn.error = json.dumps(message.get("error_event") or message)[:200]
        return ""

    def close(self) -> None:
        self.shutdown()
