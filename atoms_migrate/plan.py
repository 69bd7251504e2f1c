"""Planning: (source agent, mapping tables, optional live target config) -> ``AgentPlan``.

Pure: no I/O, no clock, no environment. The planner maps the source, builds the full
Atoms config the agent should have, and diffs it against the live config when one is
given. Lists the tool owns (tools, disposition metrics) are replaced whole, so extra live
items become removals; any other live field the plan does not set is left alone.
Rendering and applying only consume the returned value.
"""

from __future__ import annotations

from typing import Any

from atoms_migrate import paths
from atoms_migrate.mapper import map_agent
from atoms_migrate.model import AgentPlan, Assignment, Change, Plan, SourceRef
from atoms_migrate.source import SourceAgent
from atoms_migrate.tables import MappingTables

OWNED_LISTS = ("singlePromptConfig.tools", "postCallAnalyticsConfig.dispositionMetrics")


def build_target_config(assignments: tuple[Assignment, ...] | list[Assignment]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for a in assignments:
        paths.set_value(config, a.path, a.value)
    return config


def _diff(assignments: tuple[Assignment, ...], current: dict[str, Any] | None) -> list[Change]:
    changes = []
    for a in assignments:
        before = paths.get(current, a.path) if current is not None else None
        if current is not None and before == a.value:
            continue
        changes.append(Change(a.path, before, a.value, a.source_path, a.rule, a.status, a.note))
    if current is not None:
        planned = build_target_config(assignments)
        for list_path in OWNED_LISTS:
            live = paths.get(current, list_path)
            ours = paths.get(planned, list_path) or []
            if isinstance(live, list):
                for i in range(len(ours), len(live)):
                    changes.append(Change(f"{list_path}[{i}]", live[i], None, "", "", "mapped",
                                          "Live item not in the source: removed."))
    return changes


def plan_agent(
    source: SourceAgent,
    tables: MappingTables,
    current: dict[str, Any] | None = None,
    target_agent_id: str | None = None,
) -> AgentPlan:
    """Plan one agent. ``current`` is the live Atoms config (camelCase) or None to create."""
    result = map_agent(source, tables)
    target_config = build_target_config(result.assignments)
    changes = _diff(result.assignments, current)
    action = "create" if current is None else ("update" if changes else "no-op")
    name = target_config.get("name") or source.name or source.label
    return AgentPlan(
        source=SourceRef(agent_id=source.agent_id, name=name, path=source.path, shape=source.shape, notes=source.notes),
        action=action,
        target_agent_id=target_agent_id,
        target_config=target_config,
        changes=tuple(changes),
        findings=result.findings,
        assignments=result.assignments,
    )


def plan_all(agents: list[AgentPlan]) -> Plan:
    return Plan(agents=tuple(agents))
