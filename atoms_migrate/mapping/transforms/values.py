"""Transforms of plain values: text, the agent's name, numbers (clamped to the Atoms range), booleans."""

from __future__ import annotations

from pathlib import Path

from atoms_migrate.mapping.context import MapContext
from atoms_migrate.mapping.numbers import show_number
from atoms_migrate.mapping.schema import Concept
from atoms_migrate.mapping.transforms.common import (
    is_number,
    source_value,
    wrong_type,
)


def text(ctx: MapContext, concept: Concept) -> None:
    found = source_value(ctx, concept)
    if found is None:
        return
    path, value = found
    if not isinstance(value, str):
        wrong_type(ctx, concept, path, "text", value)
    elif not value.strip():
        ctx.empty(concept, path)
    else:
        for target in concept.target:
            ctx.assign(concept, target, value, path)


def name(ctx: MapContext, concept: Concept) -> None:
    found = source_value(ctx, concept)
    if found and isinstance(found[1], str) and found[1].strip():
        decided = ctx.options.name
        if decided and decided != found[1].strip():  # Atoms §K.5: kept apart from another source of the same name
            ctx.assign(
                concept,
                concept.target[0],
                decided,
                found[0],
                "lossy",
                ctx.options.name_reason or f"{found[1].strip()!r} is named {decided!r} on Atoms.",
            )
        else:
            ctx.assign(concept, concept.target[0], found[1].strip(), found[0])
        return
    if found:
        wrong_type(ctx, concept, found[0], "a non-empty name", found[1])
    fallback = ctx.source.agent_id or (Path(ctx.source.path).stem if ctx.source.path else None)
    fallback = fallback or ctx.tables.concepts.defaults.unnamed_agent
    ctx.assign(
        concept,
        concept.target[0],
        fallback,
        concept.source,
        "defaulted",
        "The source has no name; named after its file or agent id.",
    )


def number(ctx: MapContext, concept: Concept) -> None:
    params = concept.params
    found = source_value(ctx, concept)
    if found is None:
        # An absent field is what ElevenLabs' server default made it (EL addendum, September 2026
        # defaults): plan that value, so it never silently becomes a different Atoms default.
        defaults = ctx.tables.concepts.defaults.elevenlabs_defaults
        if params.get("elevenlabs_default") and concept.source in defaults:
            for target in concept.target:
                ctx.assign(
                    concept,
                    target,
                    defaults[concept.source],
                    concept.source,
                    "defaulted",
                    f"Not set in the source: ElevenLabs' default {defaults[concept.source]} (September 2026 spec).",
                )
        return
    path, value = found
    if not is_number(value):
        wrong_type(ctx, concept, path, "a number", value)
        return
    low, high = params.get("min"), params.get("max")
    clamped = min(max(value, low if low is not None else value), high if high is not None else value)
    if params.get("integer"):
        clamped = int(round(clamped))
    status = params.get("status", "mapped")
    note = ""
    if clamped != value:
        status = "lossy"
        note = f"{show_number(value)} is outside the Atoms range {low}-{high}; clamped to {clamped}."
        ctx.finding(path, "lossy", "warning", note, "Check the behaviour after migration.", concept)
    for target in concept.target:
        ctx.assign(concept, target, clamped, path, status, note)


def boolean(ctx: MapContext, concept: Concept) -> None:
    found = source_value(ctx, concept)
    if found is None:
        return
    path, value = found
    if not isinstance(value, bool):
        wrong_type(ctx, concept, path, "true or false", value)
        return
    for target in concept.target:
        ctx.assign(concept, target, value, path)
