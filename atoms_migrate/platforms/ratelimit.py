"""A request gate shared by every worker of a batch: a client-side rate limit and a global pause.

``--max-rps`` caps the requests per second the whole run sends to a host as a true sliding
window: never more than ``max_rps`` requests in any window of one second (plus a small margin
for the time a request takes to reach the server), and never two closer than ``1/max_rps``
(a token bucket with a burst of one). A bucket that starts full lets a second's worth
through at once and then refills, so a server counting a sliding second saw up to twice the
limit and answered 429; at the account's own limit this gate provokes none. A 429 from the
server pauses *every* worker until its ``Retry-After`` (or a short default) has passed, not
just the one that got it: rate limits
are per account (smallest-atoms-api.md §G.3, elevenlabs-convai-api.md §F.3), so the other
workers would only collect 429s of their own. Installed as httpx event hooks, so the
clients stay unaware of it; the per-request retry policy still applies on top.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

import httpx

from atoms_migrate.platforms.retry import server_wait_hint

DEFAULT_PAUSE = 1.0
WINDOW_MARGIN = 0.05  # seconds: a request sent at t may reach the server a little later than one sent after it
MAX_PAUSE = 60.0


class RequestGate:
    def __init__(
        self,
        max_rps: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = WINDOW_MARGIN,
    ) -> None:
        self.max_rps, self.clock, self.sleep = max_rps, clock, sleep
        self._lock = threading.Lock()
        # At most `capacity` sends per `window` seconds: one second's worth (at least one request).
        self.capacity = max(1, int(max_rps)) if max_rps else 0
        self.window = (max(1.0, self.capacity / max_rps) + margin) if max_rps else 0.0
        self.interval = 1.0 / max_rps if max_rps else 0.0
        self._sent: deque[float] = deque()
        self.paused_until = 0.0
        self.pauses = 0  # how many 429s paused the run

    def wait_turn(self) -> None:
        """Block until the run may send one more request."""
        while True:
            with self._lock:
                now = self.clock()
                wait = self.paused_until - now
                if wait <= 0 and self.max_rps:
                    while self._sent and self._sent[0] <= now - self.window:
                        self._sent.popleft()
                    wait = (self._sent[-1] + self.interval - now) if self._sent else 0.0
                    if len(self._sent) >= self.capacity:
                        wait = max(wait, self._sent[0] + self.window - now)
                    if wait <= 1e-9:
                        self._sent.append(now)
                        return
                elif wait <= 0:
                    return
            self.sleep(min(max(wait, 0.001), MAX_PAUSE))

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
