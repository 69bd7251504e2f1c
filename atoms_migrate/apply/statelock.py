"""One writer per state file: an exclusive lock held for a whole run that writes to Atoms.

Two runs on one state file at once would each plan "create" for the same sources and make
two agents per source. So every command that writes takes ``<state>.lock`` (an OS-level
``fcntl.flock``: released by the kernel when the process dies, even on kill -9, so a stale
lock cannot outlive its holder) before it reads the state, and keeps it until it exits. The
lock file names its holder (pid, host, command, start time) so a second run can say who it
is waiting for; ``--wait-lock SECONDS`` waits for the holder instead of failing at once.
Taking the lock also proves the state location is writable, before anything is sent to Atoms.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType, TracebackType

from atoms_migrate.errors import ConfigError, MigrationError

fcntl: ModuleType | None
try:  # POSIX; elsewhere the run goes on without a lock and says so through `available`
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

EXIT_LOCKED = 4


class StateLocked(MigrationError):
    """Another run holds the state file's lock."""

    exit_code = EXIT_LOCKED


def lock_path(state_path: Path) -> Path:
    return state_path.with_name(state_path.name + ".lock")


def _holder(path: Path) -> dict[str, object] | None:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and info.get("pid") else None


def _holder_text(info: dict[str, object] | None) -> str:
    if info is None:
        return "another atoms-migrate run"
    command = str(info.get("command") or "")[:120]
    return f"process {info.get('pid')} on {info.get('host')} ({command}), started {info.get('started')}"


class StateLock:
    """``with StateLock(state_path, wait=0):`` holds the lock for the block."""

    def __init__(
        self,
        state_path: Path,
        wait: float = 0.0,
        poll: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.state_path, self.wait, self.poll, self.clock, self.sleep = state_path, wait, poll, clock, sleep
        self.path = lock_path(state_path)
        self._fd: int | None = None

    def _open(self) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigError(
                f"cannot write the state location {self.state_path.parent}: {exc.strerror}",
                "Nothing was sent to Atoms. Pass a writable --state file, or fix the folder's permissions.",
            ) from exc
        if not os.access(self.state_path.parent, os.W_OK) or (
            self.state_path.exists() and not os.access(self.state_path, os.W_OK)
        ):
            os.close(fd)
            raise ConfigError(
                f"the state file {self.state_path} is not writable",
                "Nothing was sent to Atoms. Pass a writable --state file, or fix its permissions.",
            )
        return fd

    def acquire(self) -> None:
        fd = self._open()
        if fcntl is None:  # pragma: no cover
            self._fd = fd
            return
        deadline = self.clock() + max(0.0, self.wait)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if self.clock() >= deadline:
                    os.close(fd)
                    waited = f" after waiting {self.wait:g} s" if self.wait else ""
                    raise StateLocked(
                        f"the state file {self.state_path} is in use by {_holder_text(self._read_holder())}{waited}",
                        "Two runs on one state file would create duplicate agents. Wait for it to finish, "
                        "or pass --wait-lock SECONDS to wait.",
                    ) from None
                self.sleep(self.poll)
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": " ".join(["atoms-migrate", *sys.argv[1:2]]),  # the subcommand only: arguments may hold secrets
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode("utf-8"), 0)
        self._fd = fd

    def _read_holder(self, patience: float = 1.0) -> dict[str, object] | None:
        """The holder's details; a holder that has just taken the lock writes them a moment later, so wait briefly."""
        deadline = self.clock() + patience
        for _ in range(int(patience / 0.05) + 1):  # bounded even under an injected clock that stands still
            info = _holder(self.path)
            if info is not None or self.clock() >= deadline:
                return info
            self.sleep(0.05)
        return None

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
        except OSError:
            pass
        os.close(self._fd)  # closing the descriptor drops the flock
        self._fd = None

    def __enter__(self) -> StateLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
