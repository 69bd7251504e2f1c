"""What a transform sees and writes through: ``MapContext`` and the options the run gives the mapping.

Kept apart from ``engine`` (which runs the transforms over the concept table) so that the
transforms and the engine do not import each other. The helpers that find system tools
wherever an agent declares them live here too: both the context and the tool transforms
read them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from atoms_migrate import paths
from atoms_migrate.mapping.schema import Concept, MappingTables
from atoms_migrate.mapping.toolcalls import ToolParity
from atoms_migrate.mapping.voices import CatalogVoice
from atoms_migrate.mapping.webhooks import ToolOptions
from atoms_migrate.model import Assignment, ChangeStatus, Finding, FindingStatus, Severity, Step
from atoms_migrate.paths import Segment
from atoms_migrate.source.shapes import SourceAgent

CONCEPTS_FILE = "mappings/concepts.yaml"


@dataclass(frozen=True)
class SystemToolRef:
    """A system tool found anywhere in the source (built_in_tools, inline tools, tool_ids)."""

    name: str
    source_path: str
    config: dict[str, Any]


@dataclass(frozen=True)
class MapOptions:
    """What the mapping may know beyond the source and the tables."""

    tools: ToolOptions = field(default_factory=ToolOptions)
    catalog: tuple[CatalogVoice, ...] | None = None  # the account's Lightning v3.1 voices, when read
    clone_voices: bool = False
    clones: Mapping[str, str] = field(default_factory=dict)  # ElevenLabs voice id -> Atoms clone made earlier
    kb_id: str | None = None  # this agent's Atoms knowledge base, made by an earlier run
    kb_documents: Mapping[str, str] = field(default_factory=dict)  # ElevenLabs document id -> what was sent
    name: str | None = None  # the Atoms name decided by the run (duplicate names, a name recorded in the state)
    name_reason: str = ""


class MapContext:
    """What a transform sees: the source, the tables, and the outputs gathered so far."""

    def __init__(self, source: SourceAgent, tables: MappingTables, options: MapOptions | None = None) -> None:
        self.source = source
        self.options = options or MapOptions()
        self.tool_options = self.options.tools
        self.secrets: dict[str, str] = {}  # literal credentials kept out of the plan (refs.py)
        self.resources: list[Step] = []
        self.tool_parity: list[ToolParity] = []
        self.config = source.config
        self.tables = tables
        self.assignments: list[Assignment] = []
        self.findings: list[Finding] = []
        self._list_lengths: dict[str, int] = {}
        self._tool_names: set[str] = set()
        self.metric_ids: set[str] = set()  # disposition metric identifiers, unique per agent
        self.mapped_system_tools: dict[str, str] = {}  # kind -> source path it was taken from
        self.transfer_numbers: dict[str, str] = {}  # E.164 number -> source path of the transfer_call made for it
        self.system_tools = collect_system_tools(source)

    # --- reading ---------------------------------------------------------------------------
    def get(self, path: str, default: Any = None) -> Any:
        return paths.get(self.config, path, default)

    def has(self, path: str) -> bool:
        sentinel = object()
        return paths.get(self.config, path, sentinel) is not sentinel

    # --- writing ---------------------------------------------------------------------------
    def assign(
        self,
        concept: Concept,
        target: str,
        value: Any,
        source_path: str,
        status: ChangeStatus = "mapped",
        note: str = "",
        rule: str | None = None,
    ) -> None:
        if status == "lossy" and not note:
            note = concept.rule  # a lossy change always says why
        self.assignments.append(
            Assignment(target, value, source_path, rule or f"{CONCEPTS_FILE}#{concept.id}", status, note)
        )

    def append(
        self,
        concept: Concept,
        list_path: str,
        value: Any,
        source_path: str,
        status: ChangeStatus = "mapped",
        note: str = "",
    ) -> int:
        """Assign the next item of a target list several concepts contribute to."""
        index = self._list_lengths.get(list_path, 0)
        self._list_lengths[list_path] = index + 1
        self.assign(concept, f"{list_path}[{index}]", value, source_path, status, note)
        return index

    def unique_tool_name(self, wanted: str) -> str:
        """Atoms tool names: no spaces, unique within the agent (smallest-atoms-api.md §D)."""
        base = re.sub(r"[^A-Za-z0-9_-]+", "_", wanted).strip("_") or "tool"
        name, n = base, 2
        while name in self._tool_names:
            name, n = f"{base}_{n}", n + 1
        self._tool_names.add(name)
        return name

    def finding(
        self,
        source_path: str,
        status: FindingStatus,
        severity: Severity,
        message: str,
        hint: str = "",
        concept: Concept | None = None,
    ) -> None:
        rule = f"{CONCEPTS_FILE}#{concept.id}" if concept else ""
        self.findings.append(Finding(source_path, status, severity, message, hint, rule))

    def empty(self, concept: Concept, source_path: str, what: str = "Empty value") -> None:
        self.finding(source_path, "ignored", "info", f"{what}: nothing to migrate.", concept=concept)

    def _coverage_prefixes(self) -> list[tuple[Segment, ...]]:
        return coverage_prefixes(self.assignments, self.findings)

    def sweep(self, concept: Concept, path: str, reason: str, consumed: tuple[str, ...] = (), tree: Any = None) -> None:
        """Account for the leaves under ``path`` a transform read but did not carry over.

        ``tree`` is what ``path`` stands for when it is not in the agent file itself: a
        workspace tool record reached through ``tool_ids[i]``.
        """
        base = paths.parse_path(path)
        prefixes = self._coverage_prefixes()
        # Only what lies below ``path`` accounts for a leftover: the tool's own change at ``path`` carries none of them.
        inner = [p for p in prefixes if len(p) > len(base)]
        consumed_paths = [base + paths.parse_path(c) for c in consumed]
        left = [
            seg
            for seg, _ in paths.iter_leaves(paths.get(self.config, base) if tree is None else tree, base)
            if not any(paths.covers(p, seg) for p in inner) and not any(paths.covers(c, seg) for c in consumed_paths)
        ]
        if left:
            names = sorted({paths.format_path(seg[len(base) :]) for seg in left})
            self.finding(path, "ignored", "info", f"{reason}: {', '.join(names)}", concept=concept)
        elif consumed_paths and not any(paths.covers(p, base) for p in prefixes):
            self.finding(
                path, "ignored", "info", "Read to decide the mapping; nothing else to carry over.", concept=concept
            )


def coverage_prefixes(assignments: Iterable[Assignment], findings: Iterable[Finding]) -> list[tuple[Segment, ...]]:
    """The source paths that account for leaves: those of every assignment and finding."""
    return [paths.parse_path(a.source_path) for a in assignments] + [paths.parse_path(f.source_path) for f in findings]


def collect_system_tools(source: SourceAgent) -> dict[str, list[SystemToolRef]]:
    """Index system tools by name wherever the agent declares them (§A.8.2, §C.2)."""
    found: dict[str, list[SystemToolRef]] = {}
    prompt_path = "conversation_config.agent.prompt"
    prompt = paths.get(source.config, prompt_path, {}) or {}

    def add(name: str, path: str, config: dict[str, Any]) -> None:
        found.setdefault(name, []).append(SystemToolRef(name, path, config))

    built_in = prompt.get("built_in_tools")
    if isinstance(built_in, dict):
        for key, cfg in built_in.items():
            if isinstance(cfg, dict):
                add(system_tool_type(key, cfg), paths.join(f"{prompt_path}.built_in_tools", key), cfg)
    for i, tool in enumerate(prompt.get("tools") or [] if isinstance(prompt.get("tools"), list) else []):
        if isinstance(tool, dict) and tool.get("type") == "system":
            add(system_tool_type(str(tool.get("name", "")), tool), f"{prompt_path}.tools[{i}]", tool)
    raw_ids = prompt.get("tool_ids")
    for i, tool_id in enumerate(raw_ids if isinstance(raw_ids, list) else []):
        if not isinstance(tool_id, str):
            continue
        record = source.tools.get(tool_id)
        cfg = tool_config_of(record)
        if cfg is not None and cfg.get("type") == "system":
            add(system_tool_type(str(cfg.get("name", "")), cfg), f"{prompt_path}.tool_ids[{i}]", cfg)
    return found


def tool_config_of(record: dict[str, Any] | None) -> dict[str, Any] | None:
    if not isinstance(record, dict):
        return None
    inner = record.get("tool_config")
    return inner if isinstance(inner, dict) else record


def system_tool_type(key: str, cfg: dict[str, Any]) -> str:
    params = cfg.get("params")
    kind = params.get("system_tool_type") if isinstance(params, dict) else None
    return kind if isinstance(kind, str) else str(cfg.get("name") or key)
