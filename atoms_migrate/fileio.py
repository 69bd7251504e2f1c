"""Atomic file writes: a crash or a full disk leaves either the old file or the new one, never half of one.

One helper for every file the tool writes for the user to keep (the state file, saved plans, reports): the
text goes to a temporary file in the same folder (so ``os.replace`` is a rename on one file system), is
flushed and fsynced, then replaces the target in one step. On any failure the temporary file is removed
and the ``OSError`` is raised for the caller to word. By default the new file is 0600, as the state writer
always had: the state file and saved plans name agents, accounts and plans, and are the user's own. Reports
(made to be shared, e.g. as CI artifacts) ask for 0644, and a rewritten source file keeps its own mode.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text_atomic(path: Path, text: str, *, mode: int = 0o600, newline: str | None = None) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically with permission bits ``mode``; the folder must exist.

    ``newline`` is ``open``'s (``""`` writes line endings as they are in ``text``). A symlink is followed (the
    link stays); a target that is not a regular file (``/dev/stdout``, a FIFO) is written in place, as it cannot
    be replaced. Raises ``OSError``.
    """
    # A symlink is followed, so the file it points at gets the text and the link stays a link; a target that is
    # not a regular file (/dev/stdout, a FIFO a CI step reads) cannot be replaced by a rename: write into it.
    path = path.resolve() if path.is_symlink() else path
    if path.exists() and not path.is_file():
        with open(path, "w", encoding="utf-8", newline=newline) as stream:
            stream.write(text)
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if mode != 0o600:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        # Any failure (including an interrupt) between mkstemp and the rename: leave no temporary file behind.
        Path(tmp).unlink(missing_ok=True)
        raise
