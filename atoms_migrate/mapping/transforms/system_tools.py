"""ElevenLabs system tools (EL §A.8.2) -> Atoms tools or settings: end_call, transfer_to_number,
voicemail_detection, language_detection; the rest by the tool rows of concepts.yaml.
"""

from __future__ import annotations

import re
from typing import Any

from atoms_migrate import paths
from atoms_migrate.mapping.context import MapContext, system_tool_type
from atoms_migrate.mapping.schema import Concept
from atoms_migrate.mapping.transforms.common import (
    E164,
    enum_value,
    optional_text,
    source_value,
    text_with_variables,
    wrong_type,
)
from atoms_migrate.model import ChangeStatus


def map_system_tool(ctx: MapContext, concept: Concept, kind: str, cfg: dict[str, Any], path: str) -> None:
    """One ElevenLabs system tool (EL §A.8.2) -> Atoms tools or settings (Atoms §D, §B.1)."""
    params = paths.as_dict(cfg.get("params"))
    consumed = ("name", "type", "params.system_tool_type", "description")
    if kind == "language_detection":
        first = ctx.system_tools.get("language_detection", [])
        if first and first[0].source_path != path:  # the first declaration is read by the language concept
            ctx.finding(
                path,
                "ignored",
                "info",
                f"language_detection is declared again; already read from {first[0].source_path} (language.switching).",
                concept=concept,
            )
        else:
            ctx.sweep(concept, path, "language_detection settings with no Atoms equivalent", consumed, tree=cfg)
        return
    if kind == "end_call" and "end_call" in ctx.mapped_system_tools:
        ctx.finding(
            path,
            "ignored",
            "info",
            f"end_call is declared again; already migrated from {ctx.mapped_system_tools['end_call']}.",
            concept=concept,
        )
        return
    if kind == "end_call":
        ctx.mapped_system_tools["end_call"] = path
        description = optional_text(ctx, concept, paths.join(path, "description"), cfg.get("description"))
        description = description or concept.params.get("end_call_description", "End the call.")
        tool_name = ctx.unique_tool_name("end_call")
        description = text_with_variables(ctx, concept, paths.join(path, "description"), description)[
            0
        ]  # the LLM reads it
        ctx.append(
            concept,
            "singlePromptConfig.tools",
            {"type": "end_call", "name": tool_name, "description": description},
            path,
        )
        ctx.sweep(concept, path, "end_call settings with no Atoms equivalent", consumed, tree=cfg)
    elif kind == "transfer_to_number":
        _transfer_to_number(ctx, concept, params, path)
        ctx.sweep(concept, path, "transfer_to_number settings with no Atoms equivalent", consumed, tree=cfg)
    elif kind == "voicemail_detection":
        message = params.get("voicemail_message")
        ctx.assign(concept, "voiceMailDetectionConfig.enabled", True, path)
        if isinstance(message, str) and message.strip():
            end_text = text_with_variables(
                ctx, concept, paths.join(path, "params", "voicemail_message"), message.strip()
            )[0]
            status: ChangeStatus = "mapped"
            if len(end_text) > 200:  # Atoms §B.1: endText <= 200
                end_text, status = end_text[:200].rsplit(" ", 1)[0], "lossy"
            ctx.assign(
                concept,
                "voiceMailDetectionConfig.endText",
                end_text,
                paths.join(path, "params", "voicemail_message"),
                status,
            )
        ctx.sweep(concept, path, "voicemail_detection settings with no Atoms equivalent", consumed, tree=cfg)
    elif kind in ctx.tables.concepts.tools.system_tools:
        row = ctx.tables.concepts.tools.system_tools[kind]
        ctx.finding(path, row.status, row.severity, f"System tool {kind}: {row.atoms}", row.hint, concept)
    else:
        ctx.finding(
            path,
            "unmapped",
            "warning",
            f"Unknown ElevenLabs system tool {kind!r}: not migrated.",
            "Recreate its behaviour in the prompt or as an api_call tool.",
            concept,
        )


def _transfer_to_number(ctx: MapContext, concept: Concept, params: dict[str, Any], path: str) -> None:
    """Each phone destination becomes one transfer_call tool (Atoms §D); others are findings."""
    transfers = params.get("transfers")
    if not isinstance(transfers, list) or not transfers:
        ctx.finding(path, "unmapped", "warning", "transfer_to_number has no destinations.", concept=concept)
        return
    for i, transfer in enumerate(transfers):
        item_path = paths.join(path, "params", "transfers", i)
        if not isinstance(transfer, dict):
            wrong_type(ctx, concept, item_path, "a transfer object", transfer)
            continue
        phone = _phone_destination(ctx, concept, transfer, item_path)
        if phone is None:
            continue
        normalised, number = phone
        option, status, note = _transfer_option(ctx, concept, transfer, item_path)
        if normalised != number:
            note += f"; number normalised from {number!r}"
        if normalised in ctx.transfer_numbers:
            # Declared twice (built-in tool and legacy inline tool): one transfer_call, as for end_call.
            ctx.finding(
                item_path,
                "ignored",
                "info",
                (
                    f"Transfer to {normalised} is declared again; already migrated from "
                    f"{ctx.transfer_numbers[normalised]}."
                ),
                concept=concept,
            )
            continue
        ctx.transfer_numbers[normalised] = item_path
        condition = optional_text(ctx, concept, paths.join(item_path, "condition"), transfer.get("condition"))
        description = condition or concept.params.get("transfer_description", "Transfer the call.")
        tool = {
            "type": "transfer_call",
            "name": ctx.unique_tool_name("transfer_call"),
            "description": text_with_variables(ctx, concept, paths.join(item_path, "condition"), description)[0],
            "transferNumber": normalised,
            "transferOption": {"type": option},
        }
        ctx.append(concept, "singlePromptConfig.tools", tool, item_path, status, note)


def _phone_destination(
    ctx: MapContext, concept: Concept, transfer: dict[str, Any], item_path: str
) -> tuple[str, Any] | None:
    """(E.164 number, the number as written) of a phone destination; any other destination is a finding, and None."""
    destination = transfer.get("transfer_destination")
    raw_kind = destination.get("type") if isinstance(destination, dict) else "phone"
    kind = enum_value(raw_kind)
    number = destination.get("phone_number") if isinstance(destination, dict) else transfer.get("phone_number")
    row = ctx.tables.concepts.tools.transfer_destinations.get(kind) if kind is not None else None
    if row is not None:
        ctx.finding(
            item_path,
            row.status,
            row.severity,
            f"Transfer destination of type {kind!r}: {row.atoms}",
            row.hint,
            concept,
        )
        return None
    if kind != "phone":
        ctx.finding(
            item_path,
            "unmapped",
            "error",
            (
                f"Unknown transfer destination type {raw_kind!r:.60}: not migrated (Atoms transfer_call needs a "
                "fixed E.164 number)."
            ),
            "Give the transfer a fixed phone number.",
            concept,
        )
        return None
    normalised = re.sub(r"[\s().-]", "", str(number or ""))
    if not E164.match(normalised):
        ctx.finding(
            item_path,
            "unmapped",
            "error",
            f"Transfer number {number!r} is not in E.164 form (+<country><number>).",
            "Fix the number in the source config.",
            concept,
        )
        return None
    return normalised, number


def _transfer_option(
    ctx: MapContext, concept: Concept, transfer: dict[str, Any], item_path: str
) -> tuple[str, ChangeStatus, str]:
    """(Atoms transferOption.type, status, note) for the transfer's ElevenLabs transfer_type (concepts.yaml)."""
    types = ctx.tables.concepts.tools.transfers
    transfer_type = transfer.get("transfer_type") or types.default
    known = types.types.get(enum_value(transfer_type) or "")
    if known is None:
        expected = sorted(types.types)
        ctx.finding(
            paths.join(item_path, "transfer_type"),
            "lossy",
            "warning",
            (
                f"Unknown transfer_type {transfer_type!r:.60} (expected {', '.join(expected[:-1])} or "
                f"{expected[-1]}); a cold transfer is planned."
            ),
            "Fix the value in the source config.",
            concept,
        )
        return "cold_transfer", "lossy", f"Unknown transfer_type {transfer_type!r:.60}; cold transfer used."
    if known.lossy:
        return known.option, "lossy", known.lossy
    return known.option, "mapped", f"transfer_type {transfer_type} -> {known.option}"


def system_tools(ctx: MapContext, concept: Concept) -> None:
    found = source_value(ctx, concept)
    if found is None:
        return
    path, value = found
    if isinstance(value, list):  # some exports list built-in tools by name
        for i, item in enumerate(value):
            ctx.finding(
                paths.join(path, i),
                "unmapped",
                "warning",
                f"built_in_tools given as a list ({item!r}); expected an object keyed by tool name.",
                concept=concept,
            )
        if not value:
            ctx.empty(concept, path, "No built-in tools")
        return
    if not isinstance(value, dict):
        wrong_type(ctx, concept, path, "an object", value)
        return
    for key, cfg in value.items():
        if isinstance(cfg, dict):
            map_system_tool(ctx, concept, system_tool_type(key, cfg), cfg, paths.join(path, key))
