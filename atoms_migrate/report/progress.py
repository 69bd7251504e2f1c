"""Progress displays: a rich one on a terminal, plain lines elsewhere (CI logs, pipes).

``BatchProgress``: an overall bar plus one line per agent being worked on, showing its
latest step; off a terminal, one numbered line when an agent finishes, so a log reads top
to bottom. Thread-safe: workers report from their own threads. ``WaitProgress``: a bounded
wait (knowledge-base processing), as a bar or a line per change.
"""

from __future__ import annotations

import threading

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


class BatchProgress:
    def __init__(self, console: Console, total: int, what: str) -> None:
        self.console, self.total, self.what = console, total, what
        self.done = 0
        self._lock = threading.Lock()
        self._tasks: dict[str, TaskID] = {}
        self.live = console.is_terminal
        self._progress: Progress | None = None
        if self.live:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            self._overall = self._progress.add_task(what, total=total)
            self._progress.start()

    def started(self, key: str, name: str) -> None:
        if self._progress is not None:
            with self._lock:
                self._tasks[key] = self._progress.add_task(f"  {name}", total=None)

    def event(self, key: str, text: str) -> None:
        if self._progress is not None:
            with self._lock:
                task = self._tasks.get(key)
                if task is not None:
                    name = str(self._progress.tasks[task].description).split(":", 1)[0]
                    self._progress.update(task, description=f"{name}: {text[:60]}")

    def finished(self, key: str, name: str, status: str, detail: str = "") -> None:
        with self._lock:
            self.done += 1
            line = f"[{self.done}/{self.total}] {name}: {status}" + (f" ({detail})" if detail else "")
            if self._progress is not None:
                task = self._tasks.pop(key, None)
                if task is not None:
                    self._progress.remove_task(task)
                self._progress.advance(self._overall)
                self._progress.console.print(line, markup=False, highlight=False)
            else:
                self.console.print(line, markup=False, highlight=False)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()


class WaitProgress:
    """Progress of a bounded wait: a rich bar on a terminal, a line per change otherwise."""

    def __init__(self, err: Console) -> None:
        self.err = err
        self.last: tuple[int, int] | None = None
        self.bar: Progress | None = None

    def update(self, done: int, total: int, description: str) -> None:
        if self.err.is_terminal:
            if self.bar is None:
                self.bar = Progress(console=self.err, transient=True)
                self.bar.start()
                self.task = self.bar.add_task(description, total=total)
            self.bar.update(self.task, completed=done, total=total)
            if done >= total:
                self.bar.stop()
                self.bar = None
        elif (done, total) != self.last:
            self.err.print(f"  {description}: {done}/{total}", markup=False)
        self.last = (done, total)
