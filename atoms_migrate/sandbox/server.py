"""The sandbox: both fake APIs behind one address, with fault injection and a request log.

``Sandbox.handle`` routes ``/atoms/v1`` and ``/waves/v1`` to the Atoms fake and ``/v1/``
to the ElevenLabs fake, under one lock. It serves either in process
(``Sandbox.transport()``, an ``httpx.MockTransport``) or as a real HTTP server on
127.0.0.1 (``serve``), which is what ``atoms-migrate sandbox`` runs and what the
end-to-end tests drive the installed CLI against. Control routes under ``/_sandbox/``
(no auth) seed ElevenLabs agents, queue faults, open a colleague's draft, make a
dashboard edit (published, live), switch the fake account's behaviours (``atoms.BEHAVIOURS``) and return the
request log, so a test can prove that a dry run sent no write.

Faults (``Fault``) match a method and a path regex and either answer a status instead
of the API (429 with ``Retry-After``, 5xx, 423...), drop the connection before doing
anything, or do the work and then answer 500 / drop: the "create that commits and then
fails" case that makes blind retries create duplicates. ``hold_then_drop`` keeps the request
waiting, undone, until ``release()`` (or ``POST /_sandbox/release``): a test sees it arrive
(``held``) and kills the client at exactly that point, e.g. between the draft and the publish.
``injections()`` lists every fault and behaviour injected, each with the number of answers it changed.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from atoms_migrate.sandbox.atoms import FakeAtoms
from atoms_migrate.sandbox.elevenlabs import FakeElevenLabs
from atoms_migrate.sandbox.wire import FakeRequest, FakeResponse, Injection, json_response

ATOMS_KEY = "sk_sandbox_atoms"
ELEVENLABS_KEY = "xi_sandbox_elevenlabs"
FAULT_ACTIONS = ("status", "drop", "commit_then_500", "commit_then_drop", "hold_then_drop")


@dataclass
class Fault:
    path: str  # regex, searched in the request path
    method: str = "*"
    action: str = "status"
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    times: int = 1
    injection: Injection = field(init=False, repr=False)  # how many requests it answered

    def __post_init__(self) -> None:
        status = f" {self.status}" if self.action == "status" else ""
        self.injection = Injection(f"fault {self.method} {self.path!r}: {self.action}{status} x{self.times}")

    def matches(self, req: FakeRequest) -> bool:
        return self.times > 0 and self.method in ("*", req.method) and re.search(self.path, req.path) is not None

    def fire(self) -> None:
        self.times -= 1
        self.injection.fired += 1


class Sandbox:
    def __init__(
        self,
        versioning: str = "v2",
        scan_reads: int = 1,
        atoms_key: str = ATOMS_KEY,
        elevenlabs_key: str = ELEVENLABS_KEY,
        latency: float = 0.0,
        rate_limit: float | None = None,
    ) -> None:
        self.latency = latency  # seconds added to every API request, outside the lock (benchmarks)
        # The account's limit on Atoms requests, counted like a server does: over any sliding second, by arrival.
        self.rate_limit = rate_limit
        self._arrivals: deque[float] = deque()
        self.rate_limited = 0  # 429s answered because of rate_limit
        self.atoms = FakeAtoms(atoms_key, versioning=versioning, scan_reads=scan_reads)
        self.elevenlabs = FakeElevenLabs(elevenlabs_key)
        self.faults: list[Fault] = []
        self.log: list[dict[str, Any]] = []
        self.lock = threading.RLock()
        self.held: list[str] = []  # "METHOD path" of requests a hold_then_drop fault is holding
        self.reached = threading.Event()  # set when a request is held
        self._released = threading.Event()

    def release(self) -> None:
        """Let held requests go: they are answered by dropping the connection, nothing done."""
        self._released.set()

    # -- control ---------------------------------------------------------------------------

    def add_fault(self, **kwargs: Any) -> None:
        fault = Fault(**kwargs)
        if fault.action not in FAULT_ACTIONS:
            raise ValueError(f"unknown fault action {fault.action!r}; use one of {FAULT_ACTIONS}")
        with self.lock:
            self.faults.append(fault)

    def serve_realtime(self, host: str = "127.0.0.1", port: int = 0, draining: int = 0) -> str:
        """Start the fake realtime WebSockets of both vendors; returns their ws:// base URL."""
        from atoms_migrate.sandbox.realtime import FakeRealtime

        self.realtime = FakeRealtime(self.atoms, self.elevenlabs, self.lock, draining=draining)
        url = self.realtime.serve(host, port)
        self.elevenlabs.realtime_url = url
        return url

    def injections(self) -> list[Injection]:
        """Every fault and behaviour injected so far (faults, the Atoms account's, the realtime fake's), with counts."""
        with self.lock:
            found = [f.injection for f in self.faults] + list(self.atoms.injections)
            realtime = getattr(self, "realtime", None)
            if realtime is not None:
                found += realtime.injections
            return found

    def writes(self, api: str = "atoms") -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.log if e["api"] == api and e["method"] != "GET"]

    def _control(self, req: FakeRequest) -> FakeResponse:
        body = req.json() or {}
        route = req.path[len("/_sandbox") :]
        if req.method == "GET" and req.path in self.elevenlabs.blobs:  # signed download URLs: no key needed
            data, content_type = self.elevenlabs.blobs[req.path]
            return FakeResponse(200, data, {"content-type": content_type})
        if req.method == "GET" and route == "/state":
            return json_response(
                200,
                {
                    "atoms": self.atoms.summary(),
                    "requests": self.log,
                    "held": self.held,
                    "writes": len(self.writes()),
                    "elevenlabs_agents": sorted(self.elevenlabs.agents),
                },
            )
        if req.method == "POST" and route == "/faults":
            try:
                for fault in body.get("faults", []):
                    self.add_fault(**fault)
            except (TypeError, ValueError) as exc:
                return json_response(400, {"error": str(exc)})
            return json_response(200, {"queued": len(self.faults)})
        if req.method == "POST" and route == "/release":
            self.release()
            return json_response(200, {"released": True})
        if req.method == "POST" and route == "/log/clear":
            self.log.clear()
            return json_response(200, {"cleared": True})
        if req.method == "POST" and route == "/elevenlabs/agents":
            return json_response(201, {"agent_id": self.elevenlabs.add_agent(body["config"], body.get("agent_id"))})
        if req.method == "POST" and route == "/elevenlabs/webhooks":
            return json_response(
                201,
                {
                    "webhook_id": self.elevenlabs.add_webhook(
                        body["url"], body.get("name", ""), body.get("webhook_id"), bool(body.get("workspace_default"))
                    )
                },
            )
        if req.method == "POST" and route == "/elevenlabs/tools":
            return json_response(201, {"tool_id": self.elevenlabs.add_tool(body["record"], body.get("tool_id"))})
        if req.method == "POST" and route == "/atoms/versioning":
            self.atoms.versioning = body["versioning"]
            return json_response(200, {"versioning": self.atoms.versioning})
        if req.method == "POST" and route == "/atoms/behaviours":
            try:
                self.atoms.set_behaviours(body.get("behaviours", []))
            except ValueError as exc:
                return json_response(400, {"error": str(exc)})
            return json_response(200, {"behaviours": sorted(self.atoms.behaviours)})
        if req.method == "POST" and route == "/atoms/ignore-fields":
            self.atoms.ignored_draft_fields = set(body.get("fields", []))
            return json_response(200, {"ignored": sorted(self.atoms.ignored_draft_fields)})
        m = re.fullmatch(r"/atoms/agents/([^/]+)/foreign-draft", route)
        if req.method == "POST" and m:
            self.atoms.open_foreign_draft(m.group(1), body.get("change") or {"firstMessage": "Colleague's edit."})
            return json_response(200, {"opened": True})
        m = re.fullmatch(r"/atoms/agents/([^/]+)/dashboard-edit", route)
        if req.method == "POST" and m:
            return json_response(200, {"revision_id": self.atoms.dashboard_edit(m.group(1), body.get("change") or {})})
        return json_response(404, {"error": f"no sandbox route {req.method} {route}"})

    # -- serving ---------------------------------------------------------------------------

    def _over_rate(self, req: FakeRequest) -> FakeResponse | None:
        if not self.rate_limit or req.path.startswith(("/_sandbox/", "/v1/")):
            return None
        with self.lock:
            now = time.monotonic()
            while self._arrivals and self._arrivals[0] <= now - 1.0:
                self._arrivals.popleft()
            if len(self._arrivals) >= self.rate_limit:
                self.rate_limited += 1
                self.log.append({"api": "atoms", "method": req.method, "path": req.path, "status": 429})
                return json_response(429, {"status": False, "errors": ["Rate limit exceeded"]}, {"Retry-After": "1"})
            self._arrivals.append(now)
        return None

    def handle(self, req: FakeRequest) -> FakeResponse:
        limited = self._over_rate(req)
        if limited is not None:
            return limited
        if self.latency and not req.path.startswith("/_sandbox/"):
            time.sleep(self.latency)  # outside the lock: concurrent requests overlap, as on a real server
        with self.lock:
            fault = next((f for f in self.faults if f.action == "hold_then_drop" and f.matches(req)), None)
            if fault:
                fault.fire()
                self.held.append(f"{req.method} {req.path}")
                self.reached.set()
        if fault:  # outside the lock: the rest of the sandbox keeps answering
            self._released.wait(120)
            return FakeResponse(0, drop=True)
        with self.lock:
            if req.path.startswith("/_sandbox/"):
                return self._control(req)
            api = "elevenlabs" if req.path.startswith("/v1/") else "atoms"
            fault = next((f for f in self.faults if f.matches(req)), None)
            if fault:
                fault.fire()
            if fault and fault.action in ("status", "drop"):
                response = (
                    FakeResponse(0, drop=True)
                    if fault.action == "drop"
                    else json_response(
                        fault.status,
                        fault.body
                        if fault.body is not None
                        else {"status": False, "errors": [f"sandbox fault {fault.status}"]},
                        fault.headers,
                    )
                )
            else:
                target = self.elevenlabs if api == "elevenlabs" else self.atoms
                response = target.handle(req)
                if fault and fault.action == "commit_then_500":
                    response = json_response(500, {"status": False, "errors": ["Internal server error"]})
                elif fault and fault.action == "commit_then_drop":
                    response = FakeResponse(0, drop=True)
            self.log.append(
                {
                    "api": api,
                    "method": req.method,
                    "path": req.path,
                    "status": "dropped" if response.drop else response.status,
                }
            )
            return response

    def transport(self) -> httpx.MockTransport:
        """An httpx transport answering from this sandbox in process."""

        def handler(request: httpx.Request) -> httpx.Response:
            req = FakeRequest(
                request.method,
                request.url.path,
                dict(request.url.params),
                {k.lower(): v for k, v in request.headers.items()},
                request.content,
            )
            response = self.handle(req)
            if response.drop:
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
            return httpx.Response(response.status, headers=response.headers, content=response.body)

        return httpx.MockTransport(handler)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
        """A started HTTP server (in a daemon thread); ``server.server_address`` has the port."""
        sandbox = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet: the log is in /_sandbox/state
                pass

            def _any(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                req = FakeRequest(
                    self.command,
                    url.path,
                    dict(parse_qsl(url.query)),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                try:
                    response = sandbox.handle(req)
                except (ValueError, KeyError, TypeError) as exc:
                    response = json_response(400, {"error": f"bad sandbox request: {exc}"})
                if response.drop:
                    self.close_connection = True
                    return
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        server = ThreadingHTTPServer((host, port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server
