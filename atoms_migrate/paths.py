"""Dotted paths into JSON trees: ``a.b[0].c``.

Source paths in the plan (``source_path``) and target paths (``path``) share this syntax:
dot-separated keys, list items as ``[i]``. Keys that themselves contain a dot or a bracket
(user-chosen names such as data-collection ids) are written ``["key"]``. This module parses,
formats, walks and compares such paths; it knows nothing about either vendor.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

Segment = str | int
_PLAIN_KEY = re.compile(r"^[^.\[\]\"]+$")
_TOKEN = re.compile(r'\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|\.?([^.\[\]]+)')


def format_path(segments: tuple[Segment, ...] | list[Segment]) -> str:
    out: list[str] = []
    for seg in segments:
        if isinstance(seg, int):
            out.append(f"[{seg}]")
        elif _PLAIN_KEY.match(seg):
            out.append(("." if out else "") + seg)
        else:
            out.append(f"[{json.dumps(seg, ensure_ascii=False)}]")
    return "".join(out)


def parse_path(path: str) -> tuple[Segment, ...]:
    segments: list[Segment] = []
    pos = 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m or m.end() == pos:
            raise ValueError(f"bad path syntax: {path!r}")
        if m.group(1) is not None:
            segments.append(int(m.group(1)))
        elif m.group(2) is not None:
            segments.append(json.loads(f'"{m.group(2)}"'))
        else:
            segments.append(m.group(3))
        pos = m.end()
    return tuple(segments)


def join(parent: str, *children: Segment) -> str:
    return format_path(parse_path(parent) + tuple(children)) if parent else format_path(tuple(children))


def get(tree: Any, path: str | tuple[Segment, ...], default: Any = None) -> Any:
    node = tree
    for seg in parse_path(path) if isinstance(path, str) else path:
        if isinstance(seg, int):
            if not isinstance(node, list) or seg >= len(node):
                return default
        elif not isinstance(node, dict) or seg not in node:
            return default
        node = node[seg]
    return node


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one: for reading optional sub-trees of a config."""
    return value if isinstance(value, dict) else {}


def set_value(tree: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at ``path``, creating dicts and lists along the way."""
    segments = parse_path(path)
    node: Any = tree
    for seg, nxt in itertools.pairwise(segments):
        empty: Any = [] if isinstance(nxt, int) else {}
        if isinstance(seg, int):
            while len(node) <= seg:
                node.append(None)
            if node[seg] is None:
                node[seg] = empty
            node = node[seg]
        else:
            node = node.setdefault(seg, empty)
    last = segments[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
    node[last] = value


def iter_leaves(tree: Any, prefix: tuple[Segment, ...] = ()) -> Iterator[tuple[tuple[Segment, ...], Any]]:
    """Yield (segments, value) for every leaf with a non-null value.

    Empty dicts, empty lists and empty strings are leaves too: they are values the
    source chose, and the "nothing dropped silently" rule accounts for them.
    """
    if isinstance(tree, dict) and tree:
        for key, value in tree.items():
            yield from iter_leaves(value, prefix + (str(key),))
    elif isinstance(tree, list) and tree:
        for i, value in enumerate(tree):
            yield from iter_leaves(value, prefix + (i,))
    elif tree is not None and prefix:
        yield prefix, tree


def covers(prefix: str | tuple[Segment, ...], path: str | tuple[Segment, ...]) -> bool:
    """True when ``path`` equals ``prefix`` or lies below it (segment-aware)."""
    p = parse_path(prefix) if isinstance(prefix, str) else prefix
    q = parse_path(path) if isinstance(path, str) else path
    return len(q) >= len(p) and q[: len(p)] == p


def match_pattern(pattern: tuple[Segment, ...], path: tuple[Segment, ...]) -> tuple[Segment, ...] | None:
    """Match a pattern whose ``*`` segments stand for any one key or index.

    Returns the concrete prefix of ``path`` that the pattern matched, or None.
    """
    if len(path) < len(pattern):
        return None
    for pat, seg in zip(pattern, path, strict=False):  # path may be longer: a prefix match
        if pat != "*" and pat != seg:
            return None
    return path[: len(pattern)]
