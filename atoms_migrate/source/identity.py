"""One identity per source file, however its path is spelled.

A file migrated as ``/abs/agents/a.json``, then as ``agents/a.json`` or
``agents/../agents/a.json``, is one source and must map to one Atoms agent. Its identity
(state key and description marker) is ``file:`` plus its resolved real path relative to
the project the state file belongs to (the folder holding ``.atoms-migrate/``, or the
state file's own folder for a custom ``--state``), or the absolute real path for a file
outside it. A file that carries an ElevenLabs ``agent_id`` is keyed by that id instead
(``SourceAgent.key``). State entries and markers written before, under the path as it was
typed, are still found through ``legacy_keys``.
"""

from __future__ import annotations

import os
from pathlib import Path

STATE_DIR = ".atoms-migrate"


def project_root(state_path: Path) -> Path:
    """The folder a state file belongs to: the parent of ``.atoms-migrate/``, else its own folder."""
    folder = Path(os.path.abspath(state_path)).parent
    return folder.parent if folder.name == STATE_DIR else folder


def file_key(path: str | Path, root: Path) -> str:
    """``file:<real path relative to root>`` (``file:<absolute real path>`` outside it)."""
    real = Path(os.path.realpath(path))
    base = Path(os.path.realpath(root))
    try:
        return "file:" + real.relative_to(base).as_posix()
    except ValueError:
        return "file:" + real.as_posix()


def legacy_keys(path: str | Path) -> tuple[str, ...]:
    """Keys earlier versions used for this file: the path as typed, and as an absolute path."""
    typed = "file:" + Path(path).as_posix()
    absolute = "file:" + Path(os.path.abspath(path)).as_posix()
    return tuple(dict.fromkeys((typed, absolute)))
