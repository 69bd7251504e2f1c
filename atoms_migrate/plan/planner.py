"""Planning: (source agent, mapping tables, optional live target config) -> ``AgentPlan``.

Pure: no I/O, no clock, no environment. The planner maps the source, builds the full
Atoms config the agent should have, diffs it against the live config when one is given
(values compared with ``compare.matches``, so server-added defaults are not changes), and
lays out the write sequence as ``Step``s carrying their exact bodies:

- create: ``POST /agent`` with the fields create accepts (smallest-atoms-api.md §B.1), then
  one draft with the whole config (create ignores the prompt, tools, analytics and
  transcriber, and overwrites ``backgroundSound``, §H.9), publish, verify;
- update: a metadata ``PATCH`` when name or description changed (§B.4), a draft with each
  changed top-level field sent whole, publish, verify;
- no-op: nothing.

The description carries a marker naming the source (``marker``), so a re-run that lost its
state file, or a create whose answer was lost, finds the agent instead of making another.
Lists the tool owns (tools, disposition metrics) are replaced whole, so extra live items
become removals; any other live field the plan does not set is left alone.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from atoms_migrate import paths
from atoms_migrate.mapping.engine import MapOptions, map_agent
from atoms_migrate.mapping.tables import MappingTables
from atoms_migrate.model import Action, AgentPlan, Assignment, Change, Plan, SourceRef, Step
from atoms_migrate.plan.compare import matches
from atoms_migrate.source.shapes import SourceAgent

OWNED_LISTS = ("singlePromptConfig.tools", "postCallAnalyticsConfig.dispositionMetrics")
METADATA_FIELDS = ("name", "description")
# POST /agent accepts these (§B.1); backgroundSound is left to the draft because create overwrites it.
CREATE_FIELDS = frozenset(
    {
        "name",
        "description",
        "language",
        "synthesizer",
        "globalKnowledgeBaseId",
        "slmModel",
        "defaultVariables",
        "preCallAPI",
        "globalPrompt",
        "telephonyProductId",
        "workflowType",
        "firstMessage",
        "muteUserUntilFirstBotResponse",
        "allowInterruptions",
        "waitForUserToSpeakFirst",
        "interruptionBackoffTimer",
        "smartTurnConfig",
        "voiceDetectionConfig",
        "voiceMailDetectionConfig",
        "denoisingConfig",
        "redactionConfig",
        "pronunciationDicts",
        "llmIdleTimeoutConfig",
        "sessionTimeoutConfig",
        "timezone",
        "callDispositionConfig",
        "allowInboundCall",
        "enableStyleGuide",
        "speechFormatting",
    }
)
MARKER_RULE = "atoms-migrate#marker"


def marker(source_key: str) -> str:
    """The text that ties an Atoms agent to its source; searched for in descriptions."""
    return f"[atoms-migrate source={source_key}]"


def has_marker(description: Any, source_key: str) -> bool:
    return isinstance(description, str) and marker(source_key) in description


_MARKER = re.compile(r"\[atoms-migrate source=([^\]]+)\]")


def marker_key(description: Any) -> str | None:
    """The source key in a description's marker, if it has one."""
    m = _MARKER.search(description) if isinstance(description, str) else None
    return m.group(1) if m else None


def build_target_config(assignments: tuple[Assignment, ...] | list[Assignment]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for a in assignments:
        paths.set_value(config, a.path, a.value)
    return config


def _with_marker(assignments: tuple[Assignment, ...], source_key: str) -> tuple[Assignment, ...]:
    tag = marker(source_key)
    out = []
    found = False
    for a in assignments:
        if a.path == "description":
            found = True
            text = a.value.rstrip() if isinstance(a.value, str) else ""
            a = Assignment(
                a.path,
                f"{text}\n\n{tag}" if text else tag,
                a.source_path,
                a.rule,
                a.status,
                (a.note + " " if a.note else "") + "The marker lets re-runs find this agent.",
            )
        out.append(a)
    if not found:
        out.append(
            Assignment(
                "description",
                f"Migrated from ElevenLabs by atoms-migrate. {tag}",
                "",
                MARKER_RULE,
                "defaulted",
                "The marker lets re-runs find this agent without the state file.",
            )
        )
    return tuple(out)


def _in_user_shape(item: Any, source: SourceAgent) -> Any:
    """A change or finding whose ``source_path`` reads as in the user's file; the normalised one kept beside it."""
    user = source.user_path(item.source_path)
    return item if user == item.source_path else replace(item, source_path=user, normalised_path=item.source_path)


def _diff(assignments: tuple[Assignment, ...], current: dict[str, Any] | None) -> list[Change]:
    changes = []
    for a in assignments:
        before = paths.get(current, a.path) if current is not None else None
        if current is not None and before is not None and matches(a.value, before):
            continue
        changes.append(Change(a.path, before, a.value, a.source_path, a.rule, a.status, a.note))
    if current is not None:
        planned = build_target_config(assignments)
        for list_path in OWNED_LISTS:
            live = paths.get(current, list_path)
            ours = paths.get(planned, list_path) or []
            if isinstance(live, list):
                for i in range(len(ours), len(live)):
                    changes.append(
                        Change(
                            f"{list_path}[{i}]",
                            live[i],
                            None,
                            "",
                            "",
                            "mapped",
                            "Live item not in the source: removed.",
                        )
                    )
    return changes


def _top_key(path: str) -> str:
    first = paths.parse_path(path)[0]
    return str(first)


def _steps(action: str, target: dict[str, Any], changes: list[Change]) -> tuple[Step, ...]:
    config_keys = [k for k in target if k not in METADATA_FIELDS]
    if action == "create":
        create_body = {k: v for k, v in target.items() if k in CREATE_FIELDS}
        draft_body = {k: target[k] for k in config_keys}
        return (
            Step("create", f"create the agent {target.get('name', '')!r} (POST /agent)", create_body),
            Step("draft", f"write {len(draft_body)} config field(s) into a draft on the target branch", draft_body),
            Step("publish", "publish the draft and wait for the security scan"),
            Step("verify", "read the live config back and compare it with the plan"),
        )
    if action == "no-op":
        return ()
    changed = dict.fromkeys(_top_key(c.path) for c in changes)
    steps = []
    meta = {k: target[k] for k in METADATA_FIELDS if k in changed and k in target}
    if meta:
        steps.append(Step("metadata", f"update {', '.join(meta)} (PATCH /agent/{{id}})", meta))
    draft_body = {k: target[k] for k in changed if k in target and k not in METADATA_FIELDS}
    if draft_body:
        steps.append(
            Step("draft", f"write {len(draft_body)} changed field(s) into a draft on the target branch", draft_body)
        )
        steps.append(Step("publish", "publish the draft and wait for the security scan"))
    steps.append(Step("verify", "read the live config back and compare it with the plan"))
    return tuple(steps)


def plan_agent(
    source: SourceAgent,
    tables: MappingTables,
    current: dict[str, Any] | None = None,
    target_agent_id: str | None = None,
    options: MapOptions | None = None,
) -> AgentPlan:
    """Plan one agent. ``current`` is the live Atoms config (planner shape) or None to create."""
    result = map_agent(source, tables, options)
    assignments = _with_marker(result.assignments, source.key)
    target_config = build_target_config(assignments)
    changes = [_in_user_shape(c, source) for c in _diff(assignments, current)]
    action: Action = "create" if current is None else ("update" if changes else "no-op")
    name = target_config.get("name") or source.name or source.label
    return AgentPlan(
        source=SourceRef(
            key=source.key,
            agent_id=source.agent_id,
            name=name,
            path=source.path,
            shape=source.shape,
            notes=source.notes,
        ),
        action=action,
        target_agent_id=target_agent_id,
        target_config=target_config,
        changes=tuple(changes),
        findings=tuple(_in_user_shape(f, source) for f in result.findings),
        assignments=assignments,
        steps=result.resources
        + _steps(action, target_config, changes),  # org resources first: the agent refers to them
        secret_values=result.secrets,
        tool_parity=tuple(replace(t, source_path=source.user_path(t.source_path)) for t in result.tool_parity),
    )


def plan_all(agents: list[AgentPlan]) -> Plan:
    return Plan(agents=tuple(agents))
