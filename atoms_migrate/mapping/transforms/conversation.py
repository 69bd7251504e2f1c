"""Conversation timing: timezone, hang-up on silence, interruptions."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from atoms_migrate.mapping.context import MapContext
from atoms_migrate.mapping.numbers import bounded, number_range, show_number
from atoms_migrate.mapping.schema import EL_TURN_TIMEOUT, Concept
from atoms_migrate.mapping.transforms.common import (
    elevenlabs_number,
    is_number,
    source_text,
    source_value,
    wrong_type,
)


def timezone(ctx: MapContext, concept: Concept) -> None:
    """IANA name -> Atoms {label, offset}; a fixed offset cannot follow daylight saving (Atoms §B.1, §H.13)."""
    found = source_text(ctx, concept, "an IANA timezone name")
    if found is None:
        return
    path, value = found
    try:
        zone = ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        ctx.finding(
            path,
            "unmapped",
            "warning",
            f"Unknown timezone {value!r}; not migrated.",
            "Use an IANA name such as America/New_York.",
            concept,
        )
        return
    # Fixed dates, so the plan does not depend on the day it is made; standard time is the smaller offset.
    offsets = {int(zone.utcoffset(datetime(2026, month, 1)).total_seconds() // 60) for month in (1, 7)}  # type: ignore[union-attr]
    offset = min(offsets)
    if len(offsets) > 1:
        ctx.assign(
            concept,
            concept.target[0],
            {"label": value.strip(), "offset": offset},
            path,
            "lossy",
            (
                f"{value} observes daylight saving time; Atoms keeps the fixed standard offset {offset:+d} min, an "
                "hour off in summer."
            ),
        )
        ctx.finding(
            path,
            "lossy",
            "warning",
            (
                f"Timezone {value} observes daylight saving time; the Atoms offset is fixed at {offset:+d} minutes "
                "(standard time)."
            ),
            "Check the agent's sense of time in summer, or move the offset by hand when the clocks change.",
            concept,
        )
    else:
        ctx.assign(concept, concept.target[0], {"label": value.strip(), "offset": offset}, path)


def silence_end_call(ctx: MapContext, concept: Concept) -> None:
    """EL hangs up after N s of silence; Atoms re-prompts maxRetries times per idle timeout."""
    found = source_value(ctx, concept)
    if found is None:
        return
    path, value = found
    if not is_number(value):
        wrong_type(ctx, concept, path, "a number of seconds", value)
        return
    if value <= 0:
        ctx.finding(
            path,
            "ignored",
            "info",
            "Hang-up on silence is disabled in ElevenLabs (-1); Atoms keeps its default idle handling.",
            concept=concept,
        )
        return
    turn = ctx.get("conversation_config.turn.turn_timeout")
    turn = turn if is_number(turn) and turn > 0 else elevenlabs_number(ctx, EL_TURN_TIMEOUT)
    timeout_range = number_range(ctx.tables, "llmIdleTimeoutConfig.telephonyTimeoutTimeInSecs")
    if timeout_range:  # the idle timeout the plan writes, not the raw source value (1e-9 would overflow)
        turn = bounded(turn, timeout_range[1])
    wanted = max(0, math.ceil(min(value, 1e12) / turn) - 1)  # bounded first: 10**400 / 7 overflows a float
    retries_range = number_range(ctx.tables, concept.target[0])
    retries = bounded(wanted, retries_range[1]) if retries_range else wanted
    note = (
        f"Hang up after ~{show_number(value)} s of silence -> {retries} re-prompt(s) of {turn:g} s each before "
        "the call ends."
    )
    if retries != wanted:
        limits = retries_range[1]  # type: ignore[index]
        note += f" ({show_number(wanted)} needed; Atoms range {limits.min:g}-{limits.max:g}, {limits.reference}.)"
        ctx.finding(
            path,
            "lossy",
            "warning",
            f"Silence of {show_number(value)} s before hang-up needs {show_number(wanted)} re-prompts; "
            f"clamped to {retries}, so the call ends after about {retries + 1} x {turn:g} s of silence.",
            "Check the behaviour after migration.",
            concept,
        )
    ctx.assign(concept, concept.target[0], retries, path, "lossy", note)


def interruptions(ctx: MapContext, concept: Concept) -> None:
    found = source_value(ctx, concept)
    if found is None:
        return
    path, value = found
    if not isinstance(value, list):
        wrong_type(ctx, concept, path, "a list of client events", value)
        return
    enabled = "interruption" in value
    note = (
        "client_events lists `interruption`."
        if enabled
        else "client_events omits `interruption`: interruptions were off."
    )
    ctx.assign(concept, concept.target[0], enabled, path, note=note)
