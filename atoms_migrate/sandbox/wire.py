"""Request and response values shared by the fake APIs and the two ways of serving them.

The fakes are plain functions from ``FakeRequest`` to ``FakeResponse`` so that the same
code answers an in-process ``httpx.MockTransport`` (fast tests) and a real HTTP server on
127.0.0.1 (end-to-end tests and ``atoms-migrate sandbox``). ``FakeResponse.drop`` asks the
server to close the connection without answering, the shape of a dropped connection.
``Injection`` counts how often an injected fault or behaviour changed an answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FakeRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))


@dataclass
class FakeResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


@dataclass(eq=False)
class Injection:
    """One fault or behaviour switched on in a fake, and how many answers it has changed since.

    A test that injects a fault which never fires proves nothing; the fakes count, so the test
    suite can assert in teardown that every injection fired (tests/conftest.py).
    """

    what: str
    fired: int = 0


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> FakeResponse:
    return FakeResponse(
        status,
        json.dumps(payload).encode("utf-8"),
        {"content-type": "application/json; charset=utf-8", **(headers or {})},
    )


def html_404(method: str, path: str) -> FakeResponse:
    """Express's answer for an unknown route (smallest-atoms-api.md §G.1)."""
    page = f"<!DOCTYPE html><html><body><pre>Cannot {method} {path}</pre></body></html>"
    return FakeResponse(404, page.encode(), {"content-type": "text/html; charset=utf-8"})
