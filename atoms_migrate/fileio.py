"""Atomic file writes: a crash or a full disk leaves either the old file or the new one, never half of one.

One helper for every file the tool writes for the user to keep (the state file, saved plans, reports): the
text goes to a temporary file in the same folder (so ``os.replace`` is a rename on one file system), is
flushed and fsynced, then replaces the target in one step. On any failure the temporary file is removed
and the ``OSError`` is raised for the caller to word. The new file has the temporary file's mode, 0600
(``tempfile.mkstemp``), as the state writer always had: these files name agents, accounts and plans, and
are the user's own.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; the folder must exist. Raises ``OSError``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        # Any failure (including an interrupt) between mkstemp and the rename: leave no temporary file behind.
        Path(tmp).unlink(missing_ok=True)
        raise
