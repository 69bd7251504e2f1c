"""Tools an agent lists inline or by workspace id: system tools go to ``system_tools``, webhook tools
become api_call tools (``webhooks``) proven by rendering both calls (``toolcalls``); others are findings.
"""

from __future__ import annotations

import re
from typing import Any

from atoms_migrate import paths
from atoms_migrate.mapping.context import MapContext, system_tool_type, tool_config_of
from atoms_migrate.mapping.schema import Concept
from atoms_migrate.mapping.toolcalls import tool_parity
from atoms_migrate.mapping.transforms.common import (
    enum_value,
    source_list,
    wrong_type,
)
from atoms_migrate.mapping.transforms.system_tools import map_system_tool
from atoms_migrate.mapping.webhooks import convert_webhook
from atoms_migrate.model import ChangeStatus


def _ends_session(ctx: MapContext, name: str) -> bool:
    """A client tool named for ending the session (``end_session``, ``hang-up``, ``endCall``...)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return re.sub(r"[\s\-]+", "_", snake).strip("_") in ctx.tables.concepts.tools.end_session_names


def _non_system_tool(ctx: MapContext, concept: Concept, cfg: dict[str, Any], path: str) -> None:
    kind = enum_value(cfg.get("type")) or "unknown"
    tool_name = cfg.get("name") or "(unnamed)"
    if kind == "webhook":
        _webhook_tool(ctx, concept, cfg, path)
        return
    row = ctx.tables.concepts.tools.tool_types.get(kind)
    if row is not None:
        ctx.finding(
            path, row.status, row.severity, f"Tool {tool_name!r:.60} of type {kind}: {row.atoms}", row.hint, concept
        )
        return
    tools = ctx.tables.concepts.tools
    finding = tools.unsupported_types.get(kind, tools.unknown_type)
    hint = finding.hint
    if kind == "client" and _ends_session(ctx, str(tool_name)):
        already = ctx.mapped_system_tools.get("end_call")
        hint = (
            (
                "Its job is to end the session: Atoms' end_call tool does that, and this agent already gets one (from "
                f"{already})."
            )
            if already
            else "Its job is to end the session: give the agent an end_call tool (add the end_call system tool to "
            "built_in_tools and migrate again, or add an end_call tool on Atoms) so it can still hang up."
        )
    shown = kind if kind != "unknown" or cfg.get("type") is None else cfg.get("type")
    ctx.finding(path, "unmapped", finding.severity, finding.message.format(name=tool_name, kind=shown), hint, concept)


def _webhook_tool(ctx: MapContext, concept: Concept, cfg: dict[str, Any], path: str) -> None:
    """EL webhook tool -> Atoms api_call (webhooks.py), with its notes as findings under ``path``."""
    wanted = str(cfg.get("name") or "api_call")
    name = ctx.unique_tool_name(wanted)
    table = ctx.tables.concepts.system_variables
    conv = convert_webhook(cfg, name, lambda var: table.get(var), ctx.tool_options)
    for conv_note in conv.notes:
        if conv_note.status != "mapped":  # "mapped" notes explain the change itself (below)
            ctx.finding(
                paths.join(path, *paths.parse_path(conv_note.path)) if conv_note.path else path,
                conv_note.status,
                conv_note.severity,
                conv_note.message,
                conv_note.hint,
                concept,
            )
    if conv.blocked:
        ctx.finding(
            path,
            "unmapped",
            "error",
            f"Webhook tool {wanted!r} is not migrated until the errors above are fixed.",
            concept=concept,
        )
        return
    ctx.secrets.update(conv.literal_secrets)
    notes = list(conv.lossy) + [n.message for n in conv.notes if n.status == "mapped"]
    if name != wanted:
        notes.insert(0, f"renamed from {wanted!r} (Atoms tool names have no spaces and are unique)")
        ctx.finding(
            path,
            "lossy",
            "info",
            f"Tool {wanted!r} is named {name!r} on Atoms (names have no spaces and are unique).",
            concept=concept,
        )
        prompt_text = ctx.get("conversation_config.agent.prompt.prompt")
        if isinstance(prompt_text, str) and wanted in prompt_text:
            ctx.finding(
                "conversation_config.agent.prompt.prompt",
                "lossy",
                "warning",
                f"The prompt names the tool {wanted!r}, which is {name!r} on Atoms; the prompt is not rewritten.",
                f"Replace {wanted!r} with {name!r} in the prompt if the agent should call it by name.",
                concept,
            )
    # Prove the call: render it as ElevenLabs and as Atoms send it, from the same samples.
    rename = lambda var: table.get(var)  # noqa: E731
    parity = tool_parity(cfg, conv.tool, path, rename, ctx.tool_options.values)
    ctx.tool_parity.append(parity)
    for difference in parity.differences:
        ctx.finding(
            path,
            "lossy",
            "error",
            f"Tool {name} would not make the same HTTP call on Atoms: {difference}.",
            "Fix the tool on Atoms by hand or report the case; the live agent would call your API differently.",
            concept,
        )
    if parity.differences:
        notes.append(f"call differs from ElevenLabs ({len(parity.differences)} difference(s))")
    note = "; ".join(notes) or "webhook -> api_call"
    status: ChangeStatus = "lossy" if conv.lossy or parity.differences else "mapped"
    ctx.append(concept, "singlePromptConfig.tools", conv.tool, path, status, note)


def inline_tools(ctx: MapContext, concept: Concept) -> None:
    found = source_list(ctx, concept, "a list of tools", "No inline tools")
    if found is None:
        return
    path, value = found
    for i, tool in enumerate(value):
        tool_path = paths.join(path, i)
        if not isinstance(tool, dict):
            wrong_type(ctx, concept, tool_path, "a tool object", tool)
        elif tool.get("type") == "system":
            map_system_tool(ctx, concept, system_tool_type(str(tool.get("name", "")), tool), tool, tool_path)
        else:
            _non_system_tool(ctx, concept, tool, tool_path)


def tool_ids(ctx: MapContext, concept: Concept) -> None:
    found = source_list(ctx, concept, "a list of tool ids", "No workspace tools")
    if found is None:
        return
    path, value = found
    seen: set[str] = set()
    for i, tool_id in enumerate(value):
        item_path = paths.join(path, i)
        if not isinstance(tool_id, str):
            wrong_type(ctx, concept, item_path, "a tool id", tool_id)
            continue
        if tool_id in seen:
            ctx.finding(
                item_path, "ignored", "info", f"Tool {tool_id} is listed twice; migrated once.", concept=concept
            )
            continue
        seen.add(tool_id)
        cfg = tool_config_of(ctx.source.tools.get(tool_id))
        if cfg is None:
            ctx.finding(
                item_path,
                "unmapped",
                "warning",
                f"Tool {tool_id} was not fetched, so it cannot be migrated.",
                "Migrate by agent id with ELEVENLABS_API_KEY set, or pass --tools-dir with the tool configs.",
                concept,
            )
        elif cfg.get("type") == "system":
            map_system_tool(ctx, concept, system_tool_type(str(cfg.get("name", "")), cfg), cfg, item_path)
        else:
            _non_system_tool(ctx, concept, cfg, item_path)
