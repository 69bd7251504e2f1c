"""Workflows (EL §A.11): migrated as a single prompt; a real graph is an error finding (Atoms §H.31)."""

from __future__ import annotations

from typing import Any

from atoms_migrate import paths
from atoms_migrate.mapping.context import MapContext
from atoms_migrate.mapping.schema import Concept
from atoms_migrate.mapping.transforms.common import (
    source_value,
)


def workflow(ctx: MapContext, concept: Concept) -> None:
    """EL §A.11; Atoms §H.31: migrate as single_prompt, refuse to flatten real graphs silently."""
    found = source_value(ctx, concept)
    ctx.assign(concept, "workflowType", "single_prompt", concept.source, "defaulted" if found is None else "mapped")
    if found is None:
        return
    path, value = found
    nodes = value.get("nodes") if isinstance(value, dict) else None
    edges = value.get("edges") if isinstance(value, dict) else None
    node_types = (
        [n.get("type") for n in (nodes or {}).values() if isinstance(n, dict)] if isinstance(nodes, dict) else []
    )
    real = [t for t in node_types if t not in ("start", "end")]
    if not real:
        ctx.finding(
            path,
            "ignored",
            "info",
            "Trivial workflow (start node only): the agent is a single prompt.",
            concept=concept,
        )
    else:
        ctx.finding(
            path,
            "unmapped",
            "error",
            (
                f"Multi-node workflow ({len(node_types)} nodes, {len(edges or {})} edges) cannot be migrated; only the "
                "main prompt is."
            ),
            "Fold the subagent prompts into one prompt, or rebuild the flow on Atoms by hand.",
            concept,
        )
    if isinstance(nodes, dict):
        _node_tools(ctx, concept, path, nodes)


def _node_tools(ctx: MapContext, concept: Concept, path: str, nodes: dict[str, Any]) -> None:
    """EL §C.2: workflow nodes reference tools the agent itself may not list; each such node is a finding."""
    for node_id, node in nodes.items():
        tool_ids = (
            [t.get("tool_id") for t in node.get("tools") or [] if isinstance(t, dict)] if isinstance(node, dict) else []
        )
        tool_ids += list(node.get("additional_tool_ids") or []) if isinstance(node, dict) else []
        if tool_ids:
            ctx.finding(
                paths.join(path, "nodes", node_id),
                "unmapped",
                "warning",
                (
                    f"Workflow node {node_id!r} uses tool(s) {', '.join(map(str, tool_ids))}; they are not migrated "
                    "with the workflow."
                ),
                "Add the tools to the agent's tool_ids if the single-prompt agent should call them.",
                concept,
            )
