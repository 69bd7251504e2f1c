"""Helpers every transform uses: reading a concept's source value, reporting a wrong type, renaming
system variables in text the agent speaks or the LLM reads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from atoms_migrate.mapping.context import MapContext
from atoms_migrate.mapping.schema import Concept

Transform = Callable[[MapContext, Concept], None]


VOICES_FILE = "mappings/voices.yaml"
LLMS_FILE = "mappings/llms.yaml"
LANGUAGES_FILE = "mappings/languages.yaml"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_SYSTEM_VAR = re.compile(r"\{\{\s*(system__[A-Za-z0-9_]+)\s*\}\}")


def elevenlabs_text(ctx: MapContext, path: str) -> str:
    """ElevenLabs' server default for a text field the source leaves out (concepts.yaml ``elevenlabs_defaults``)."""
    return str(ctx.tables.concepts.defaults.elevenlabs_defaults[path])


def elevenlabs_number(ctx: MapContext, path: str) -> float:
    """ElevenLabs' server default for a number field the source leaves out (concepts.yaml ``elevenlabs_defaults``)."""
    value = ctx.tables.concepts.defaults.elevenlabs_defaults[path]
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else float(value)


def is_number(value: Any) -> bool:
    """A finite JSON number (NaN and Infinity are refused when the file is read; this is the second line)."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and (isinstance(value, int) or math.isfinite(value))
    )


def wrong_type(ctx: MapContext, concept: Concept, path: str, expected: str, value: Any) -> None:
    ctx.finding(
        path,
        "unmapped",
        "warning",
        f"Expected {expected}, found {type(value).__name__} {value!r:.60}; not migrated.",
        "Fix the value in the source config.",
        concept,
    )


def optional_text(ctx: MapContext, concept: Concept, path: str, value: Any) -> str:
    """Text the source may leave out (a description, a condition).

    Stripped, or "" with a finding when it is not text.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        wrong_type(ctx, concept, path, "text", value)
        return ""
    return value.strip()


def enum_value(value: Any) -> str | None:
    """An enum read from the source: its text, or None for anything else (a list, an object, a number)."""
    return value if isinstance(value, str) else None


def source_value(ctx: MapContext, concept: Concept) -> tuple[str, Any] | None:
    for path in (concept.source, *concept.fallback_sources):
        if ctx.has(path) and ctx.get(path) is not None:
            return path, ctx.get(path)
    return None


def source_text(ctx: MapContext, concept: Concept, what: str) -> tuple[str, str] | None:
    """The concept's source value when it is non-empty text; a value of another type is reported, and None."""
    found = source_value(ctx, concept)
    if found is None:
        return None
    path, value = found
    if not isinstance(value, str) or not value.strip():
        wrong_type(ctx, concept, path, what, value)
        return None
    return path, value


def source_list(ctx: MapContext, concept: Concept, what: str, empty: str) -> tuple[str, list[Any]] | None:
    """The concept's source value when it is a non-empty list; otherwise reported, and None."""
    found = source_value(ctx, concept)
    if found is None:
        return None
    path, value = found
    if not isinstance(value, list):
        wrong_type(ctx, concept, path, what, value)
        return None
    if not value:
        ctx.empty(concept, path, empty)
        return None
    return path, value


def rename_system_variables(ctx: MapContext, text: str) -> tuple[str, list[str], list[str]]:
    """Rename ElevenLabs system__ variables to Atoms system variables (Atoms §F.4, EL §A.8).

    Returns the new text, the renamings done and the variables with no equivalent.
    """
    table = ctx.tables.concepts.system_variables
    renamed: list[str] = []
    missing: list[str] = []

    def swap(m: re.Match[str]) -> str:
        name = m.group(1)
        target = table.get(name)
        if target:
            renamed.append(f"{name} -> {target}")
            return "{{" + target + "}}"
        missing.append(name)
        return m.group(0)

    return _SYSTEM_VAR.sub(swap, text), sorted(set(renamed)), sorted(set(missing))


def text_with_variables(ctx: MapContext, concept: Concept, path: str, text: str) -> tuple[str, str]:
    new, renamed, missing = rename_system_variables(ctx, text)
    if missing:
        ctx.finding(
            path,
            "lossy",
            "warning",
            f"System variables with no Atoms equivalent: {', '.join(missing)}; they would be spoken literally.",
            "Remove them from the text, or pass a value per call under the same name.",
            concept,
        )
    return new, ("renamed " + ", ".join(renamed)) if renamed else ""


def planned(ctx: MapContext, target: str) -> Any:
    """The value an earlier concept planned for an Atoms field (None when none did)."""
    return next((a.value for a in reversed(ctx.assignments) if a.path == target), None)
