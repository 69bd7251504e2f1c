"""A request gate shared by every worker of a batch: a client-side rate limit and a global pause.

``--max-rps`` caps the requests per second the whole run sends to a host (a token bucket
with a burst of one second's worth). A 429 from the server pauses *every* worker until its
``Retry-After`` (or a short default) has passed, not just the one that got it: rate limits
are per account (smallest-atoms-api.md §G.3, elevenlabs-convai-api.md §F.3), so the other
workers would only collect 429s of their own. Installed as httpx event hooks, so the
clients stay unaware of it; the per-request retry policy still applies on top.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx

from atoms_migrate.retry import server_wait_hint

DEFAULT_PAUSE = 1.0
MAX_PAUSE = 60.0


class RequestGate:
    def __init__(self, max_rps: float | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.max_rps, self.clock, self.sleep = max_rps, clock, sleep
        self._lock = threading.Lock()
        self._tokens = float(max_rps or 0)
        self._stamp = clock()
        self.paused_until = 0.0
        self.pauses = 0  # how many 429s paused the run

    def wait_turn(self) -> None:
        """Block until the run may send one more request."""
        while True:
            with self._lock:
                now = self.clock()
                wait = self.paused_until - now
                if wait <= 0 and self.max_rps:
                    self._tokens = min(float(self.max_rps), self._tokens + (now - self._stamp) * self.max_rps)
                    self._stamp = now
                    if self._tokens >= 1 - 1e-9:  # float dust must not keep a caller waiting forever
                        self._tokens = max(0.0, self._tokens - 1)
                        return
                    wait = max((1 - self._tokens) / self.max_rps, 0.001)
                elif wait <= 0:
                    return
            self.sleep(min(wait, MAX_PAUSE))

    def saw_response(self, response: httpx.Response) -> None:
        if response.status_code != 429:
            return
        response.read()  # hooks run before the body is read; the wait may be in it
        hint = server_wait_hint(response)
        pause = min(hint if hint is not None else DEFAULT_PAUSE, MAX_PAUSE)
        with self._lock:
            self.paused_until = max(self.paused_until, self.clock() + pause)
            self.pauses += 1

    def hooks(self) -> dict[str, list[Callable[..., None]]]:
        return {"request": [lambda request: self.wait_turn()], "response": [self.saw_response]}
