"""Limits on what we read, so hostile or broken input fails fast with one clear line.

A source config is a file a user points us at, or an API answer: either may be a FIFO,
``/dev/zero``, a gigabyte, a 10,000-deep nesting, a YAML alias bomb (a few hundred bytes
that expand to billions of nodes), a self-referencing YAML anchor, or a string with a lone
UTF-16 surrogate that no JSON encoder will send. ``check_file`` refuses the file before it
is opened; ``check_value`` measures a parsed value without recursion (so the depth itself
cannot crash it) and without expanding shared YAML nodes more than once.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

MAX_SOURCE_BYTES = 20 * 1024 * 1024  # the largest real agent export we have seen is well under 1 MB
MAX_DEPTH = 100  # deepest real configs (tool schemas inside workflows) stay under 30
MAX_NODES = 1_000_000  # after expanding YAML aliases
MAX_NAME_LENGTH = 1_000  # agent names; the Atoms reference documents none (§B.1), real ones are under 100
MAX_ID_LENGTH = 128  # ElevenLabs ids are ~32 characters; an id also lands in markers and state keys


class InputTooLarge(ValueError):
    """A value or file beyond the limits above; the message says which and where."""


def check_file(path: Path, limit: int = MAX_SOURCE_BYTES) -> None:
    """Refuse, before opening it, anything that is not a regular file of sane size (FIFOs block on open)."""
    info = os.stat(path)  # follows symlinks: a link to /dev/zero is judged as /dev/zero
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(str(path))
    if not stat.S_ISREG(info.st_mode):
        kind = (
            "a FIFO"
            if stat.S_ISFIFO(info.st_mode)
            else "a character device"
            if stat.S_ISCHR(info.st_mode)
            else "a block device"
            if stat.S_ISBLK(info.st_mode)
            else "a socket"
            if stat.S_ISSOCK(info.st_mode)
            else "not a regular file"
        )
        raise InputTooLarge(f"is {kind}, not a regular file; it was not read")
    if info.st_size > limit:
        raise InputTooLarge(f"is {info.st_size:,} bytes; the limit is {limit:,} (refused before reading)")


def _where(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def check_value(value: Any, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> None:
    """Raise ``InputTooLarge`` for nesting deeper than ``max_depth``, more than ``max_nodes``
    after expanding shared (aliased) nodes, a container that contains itself, or a string
    that is not valid Unicode (a lone surrogate)."""
    sizes: dict[int, int] = {}  # id of a finished container -> its expanded node count
    active: set[int] = set()
    stack: list[tuple[Any, tuple[Any, ...], bool]] = [(value, (), False)]
    while stack:
        node, where, finished = stack.pop()
        if isinstance(node, str):
            _check_text(node, where)
            continue
        if not isinstance(node, (dict, list)):
            continue
        key = id(node)
        if finished:
            children = node.values() if isinstance(node, dict) else node
            sizes[key] = 1 + sum(sizes.get(id(c), 1) for c in children)
            active.discard(key)
            if sizes[key] > max_nodes:
                raise InputTooLarge(
                    f"expands to more than {max_nodes:,} values (a YAML alias bomb?) at {_where(where)}"
                )
            continue
        if key in sizes:
            continue  # a shared node (YAML alias): measured once
        if key in active:
            raise InputTooLarge(f"contains itself (a YAML anchor referring to its own node) at {_where(where)}")
        if len(where) >= max_depth:
            raise InputTooLarge(f"is nested deeper than {max_depth} levels at {_where(where[:8])}…")
        active.add(key)
        stack.append((node, where, True))
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for k, child in items:
            if isinstance(k, str):
                _check_text(k, (*where, "<key>"))
            stack.append((child, (*where, k), False))


def _check_text(text: str, where: tuple[Any, ...]) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputTooLarge(
            f"has a lone surrogate (\\u{ord(text[exc.start]):04x}), which is not valid Unicode, at {_where(where)}"
        ) from None
