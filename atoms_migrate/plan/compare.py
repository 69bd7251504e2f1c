"""Value comparison between a planned Atoms config and a live one.

Planning (is this field already live?) and verification (did the write stick?) ask the
same question, so they share this module. The planned value is the contract: every key
the plan sets must be present live with an equal value, recursively; keys the server adds
on its own (defaults such as a tool's ``enabled: true``) do not count as differences.
Lists must have the same length and match item by item. Numbers compare by value, so
``1`` equals ``1.0``. A planned reference (``refs.py``: a secret, or an id bound at apply
time) matches any non-empty live value, since the plan cannot know it. Pure functions, no
vendor knowledge.
"""

from __future__ import annotations

import math
from typing import Any

from atoms_migrate import paths
from atoms_migrate.mapping.refs import embedded_match, has_embedded_refs, is_ref

_MISSING = object()


def matches(expected: Any, actual: Any) -> bool:
    """True when ``actual`` carries every value ``expected`` sets."""
    return not differences(expected, actual, limit=1)


def _numbers_equal(a: Any, b: Any) -> bool:
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def differences(expected: Any, actual: Any, path: str = "", limit: int | None = None) -> list[tuple[str, Any, Any]]:
    """``(path, expected, actual)`` for each leaf where ``actual`` does not carry ``expected``.

    A key missing from ``actual`` is reported with ``actual`` None.
    """
    out: list[tuple[str, Any, Any]] = []

    def walk(exp: Any, act: Any, where: tuple[paths.Segment, ...]) -> None:
        if limit is not None and len(out) >= limit:
            return
        if isinstance(exp, dict):
            if not isinstance(act, dict):
                out.append((paths.format_path(where), exp, None if act is _MISSING else act))
                return
            for key, value in exp.items():
                walk(value, act.get(key, _MISSING), (*where, key))
            return
        if isinstance(exp, list):
            if not isinstance(act, list) or len(act) != len(exp):
                out.append((paths.format_path(where), exp, None if act is _MISSING else act))
                return
            for i, (e, a) in enumerate(zip(exp, act, strict=True)):
                walk(e, a, (*where, i))
            return
        if act is _MISSING:
            out.append((paths.format_path(where), exp, None))
        elif is_ref(exp):
            if act in (None, ""):
                out.append((paths.format_path(where), exp, act))
        elif has_embedded_refs(exp):  # a secret inside a body template
            if not embedded_match(exp, act):
                out.append((paths.format_path(where), exp, act))
        elif _is_number(exp) and _is_number(act):
            if not _numbers_equal(exp, act):
                out.append((paths.format_path(where), exp, act))
        elif exp != act or type(exp) is bool and type(act) is not bool:
            out.append((paths.format_path(where), exp, act))

    walk(expected, actual, paths.parse_path(path) if path else ())
    return out
