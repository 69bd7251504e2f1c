"""Number ranges of Atoms fields (``ranges`` in concepts.yaml): which range governs a field, clamping, display."""

from __future__ import annotations

import math
from typing import Any

from atoms_migrate import paths
from atoms_migrate.mapping.schema import MappingTables, NumberRange


def number_range(tables: MappingTables, target: str) -> tuple[str, NumberRange] | None:
    """(pattern, range) of ``concepts.yaml`` ``ranges`` that governs the Atoms field ``target``."""
    full = paths.parse_path(target)
    for pattern, limits in tables.concepts.ranges.items():
        pat = paths.parse_path(pattern)
        if len(pat) == len(full) and paths.match_pattern(pat, full) is not None:
            return pattern, limits
    return None


def bounded(value: int | float, limits: NumberRange) -> int | float:
    """``value`` inside ``limits`` (an integer field gets a whole number); NaN counts as below the range."""
    if isinstance(value, float) and math.isnan(value):
        out: int | float = limits.min
    else:
        out = min(max(value, limits.min), limits.max)
    if limits.integer:
        return int(round(out))
    return int(out) if isinstance(value, int) and float(out).is_integer() else out


def show_number(value: Any) -> str:
    """A number for a message: never hundreds of digits."""
    text = repr(value)
    if isinstance(value, int) and len(text) > 16:
        return f"{text[:6]}… ({len(text.lstrip('-'))} digits)"
    return f"{value:g}" if isinstance(value, float) else text
