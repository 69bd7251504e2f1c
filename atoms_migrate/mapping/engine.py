"""The mapping engine: source config + tables -> assignments and findings (pure).

``map_agent`` runs every concept of ``mappings/concepts.yaml`` through its named transform
(``transforms.py``), then accounts for every remaining leaf of the source: a prefix rule
from the tables gives it a fate (ignored with a reason, or reported), and anything still
left is reported as an unknown field. The result satisfies the "nothing dropped silently"
rule by construction: every non-null leaf lies under the ``source_path`` of an assignment
or a finding (``uncovered_leaves`` proves it, and the tests call it on every corpus agent).
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from atoms_migrate import paths
from atoms_migrate.mapping.tables import Concept, MappingTables, NumberRange, PrefixRule
from atoms_migrate.mapping.toolcalls import ToolParity
from atoms_migrate.mapping.voices import CatalogVoice
from atoms_migrate.mapping.webhooks import ToolOptions
from atoms_migrate.model import Assignment, ChangeStatus, Finding, FindingStatus, Severity, Step
from atoms_migrate.paths import Segment
from atoms_migrate.source.shapes import SourceAgent, env_placeholders

CONCEPTS_FILE = "mappings/concepts.yaml"
_VAR_REF = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}\}")


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


@dataclass(frozen=True)
class MappingResult:
    assignments: tuple[Assignment, ...]
    findings: tuple[Finding, ...]
    secrets: dict[str, str] = field(default_factory=dict, repr=False)  # literal credentials from the source, by name
    resources: tuple[Step, ...] = ()  # org resources to make before the agent: voice clones, knowledge bases
    tool_parity: tuple[ToolParity, ...] = ()  # each api_call rendered as ElevenLabs and as Atoms send it


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
    if isinstance(params, dict) and isinstance(params.get("system_tool_type"), str):
        return params["system_tool_type"]
    return str(cfg.get("name") or key)


def map_agent(source: SourceAgent, tables: MappingTables, options: MapOptions | None = None) -> MappingResult:
    """Map one source agent through the tables (pure)."""
    from atoms_migrate.mapping.transforms import TRANSFORMS

    ctx = MapContext(source, tables, options)
    for concept in tables.concepts.concepts:
        TRANSFORMS[concept.transform](ctx, concept)
    clamp_numbers(ctx)
    _report_placeholders(ctx)
    _report_unset_variables(ctx)
    _account_for_leftovers(ctx, tables.concepts.rules, tables.concepts.containers)
    return MappingResult(
        tuple(ctx.assignments), tuple(ctx.findings), dict(ctx.secrets), tuple(ctx.resources), tuple(ctx.tool_parity)
    )


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


def _number_leaves(value: Any) -> list[tuple[tuple[Segment, ...], int | float]]:
    """(path inside ``value``, number) for every number in an assigned value, the value itself included."""
    leaves = paths.iter_leaves(value) if isinstance(value, (dict, list)) else [((), value)]
    return [(seg, v) for seg, v in leaves if isinstance(v, (int, float)) and not isinstance(v, bool)]


def clamp_numbers(ctx: MapContext) -> None:
    """Every number the plan writes lies in its Atoms field's range (``ranges`` in concepts.yaml).

    Transforms clamp what they know about; this pass is the guarantee for every assignment,
    nested tool fields included. A clamp is a lossy change with a warning at the source path.
    """
    if not ctx.tables.concepts.ranges:
        return
    for i, assignment in enumerate(ctx.assignments):
        base = paths.parse_path(assignment.path)
        value, notes = assignment.value, []
        for inner, number in _number_leaves(assignment.value):
            found = number_range(ctx.tables, paths.format_path(base + inner))
            if found is None:
                continue
            pattern, limits = found
            new = bounded(number, limits)
            if new == number and type(new) is type(number):
                continue
            if new != number or (isinstance(number, float) and math.isnan(number)):
                field_path = paths.format_path(base + inner)
                note = (
                    f"{show_number(number)} is outside the Atoms range of {field_path} "
                    f"({limits.min:g}-{limits.max:g}, {limits.reference}); clamped to {show_number(new)}."
                )
                notes.append(note)
                ctx.findings.append(
                    Finding(
                        assignment.source_path,
                        "lossy",
                        "warning",
                        note,
                        "Check the behaviour after migration.",
                        f"{CONCEPTS_FILE}#ranges.{pattern}",
                    )
                )
            if not inner:
                value = new
            else:
                value = copy.deepcopy(value) if value is assignment.value else value
                paths.set_value(value, paths.format_path(inner), new)
        if value is not assignment.value or notes:
            note = "; ".join(n for n in (assignment.note, *notes) if n)
            ctx.assignments[i] = replace(
                assignment, value=value, status="lossy" if notes else assignment.status, note=note
            )


def _report_placeholders(ctx: MapContext) -> None:
    """${ENV} placeholders (YAML exports) are copied literally: say so, never substitute."""
    for seg, value in paths.iter_leaves(ctx.config):
        if isinstance(value, str):
            names = env_placeholders(value)
            if names:
                ctx.finding(
                    paths.format_path(seg),
                    "lossy",
                    "warning",
                    f"Unresolved placeholder {', '.join('${' + n + '}' for n in names)} is copied literally.",
                    "Resolve it in the file before migrating (values are never read from your environment).",
                )


def _report_unset_variables(ctx: MapContext) -> None:
    """A {{var}} with no default is spoken literally on Atoms (smallest-atoms-api.md §F.4)."""
    defaults = {
        str(paths.parse_path(a.path)[1]) for a in ctx.assignments if paths.parse_path(a.path)[0] == "defaultVariables"
    }
    system = set(ctx.tables.concepts.system_variables) | {
        "call_id",
        "agent_number",
        "user_number",
        "current_date",
        "current_time",
        "current_day",
        "conversation_type",
        "agent_gender",
        "default_language",
        "supported_languages",
        "timezone",
    }
    for a in ctx.assignments:
        if a.path in ("singlePromptConfig.prompt", "firstMessage") and isinstance(a.value, str):
            missing = sorted(
                {
                    v
                    for v in _VAR_REF.findall(a.value)
                    if v not in defaults and v not in system and not v.startswith("secret__")
                }
            )
            if missing:
                ctx.finding(
                    a.source_path,
                    "lossy",
                    "warning",
                    f"Variables without a default value: {', '.join(missing)}; Atoms speaks an unset variable literally.",
                    "Pass them on every call (variables), or add defaults to the agent's dynamic variables.",
                )


def _account_for_leftovers(ctx: MapContext, rules: list[PrefixRule], containers: list[str]) -> None:
    prefixes = ctx._coverage_prefixes()
    uncovered = [
        (seg, value) for seg, value in paths.iter_leaves(ctx.config) if not any(paths.covers(p, seg) for p in prefixes)
    ]
    compiled = [(rule, paths.parse_path(rule.prefix)) for rule in rules]
    reported: set[tuple[Segment, ...]] = set()
    unknown: list[tuple[Segment, ...]] = []
    for seg, _ in uncovered:
        for rule, pattern in compiled:
            concrete = paths.match_pattern(pattern, seg)
            if concrete is None:
                continue
            if concrete not in reported:
                reported.add(concrete)
                _rule_finding(ctx, rule, concrete)
            break
        else:
            if _is_empty(paths.get(ctx.config, seg)):
                ctx.finding(paths.format_path(seg), "ignored", "info", "Empty value: nothing to migrate.")
                reported.add(seg)
            else:
                unknown.append(seg)
    container_patterns = [paths.parse_path(c) for c in containers]
    uncovered_set = {seg for seg, _ in uncovered}
    for seg in unknown:
        top = _highest_unknown_ancestor(ctx, seg, uncovered_set, container_patterns)
        if top in reported:
            continue
        reported.add(top)
        ctx.finding(
            paths.format_path(top),
            "unmapped",
            "warning",
            f"Unknown field `{paths.format_path(top)}`: not part of the ElevenLabs agent schema this tool knows, so it is not migrated.",
            "If it matters, add a rule for it to mappings/concepts.yaml (see `atoms-migrate mappings check`).",
        )


def _highest_unknown_ancestor(
    ctx: MapContext,
    leaf: tuple[Segment, ...],
    uncovered: set[tuple[Segment, ...]],
    containers: list[tuple[Segment, ...]],
) -> tuple[Segment, ...]:
    """Report an unknown block once, at its top, but never a whole structural container."""
    best = leaf
    for depth in range(len(leaf) - 1, 0, -1):
        ancestor = leaf[:depth]
        if any(len(c) == depth and paths.match_pattern(c, ancestor) is not None for c in containers):
            break
        if not all(s in uncovered for s, _ in paths.iter_leaves(paths.get(ctx.config, ancestor), ancestor)):
            break
        best = ancestor
    return best


def _is_empty(value: Any) -> bool:
    return value in ({}, [], "")


def _is_quiet(value: Any, quiet_values: list[Any]) -> bool:
    # bool is an int in Python: keep False from matching 0 and True from matching 1.
    return any(isinstance(value, bool) == isinstance(q, bool) and value == q for q in quiet_values)


def _rule_finding(ctx: MapContext, rule: PrefixRule, concrete: tuple[Segment, ...]) -> None:
    value = paths.get(ctx.config, concrete)
    source_path = paths.format_path(concrete)
    if rule.status != "ignored" and _is_quiet(value, rule.quiet_values):
        ctx.findings.append(
            Finding(
                source_path,
                "ignored",
                "info",
                f"{rule.reason} (set to the ElevenLabs default, nothing to migrate)",
                "",
                f"{CONCEPTS_FILE}#{rule.prefix}",
            )
        )
        return
    ctx.findings.append(
        Finding(source_path, rule.status, rule.severity, rule.reason, rule.hint, f"{CONCEPTS_FILE}#{rule.prefix}")
    )


def uncovered_leaves(source: SourceAgent, result: MappingResult) -> list[str]:
    """Leaves of the source not under any change or finding: must always be empty."""
    prefixes = coverage_prefixes(result.assignments, result.findings)
    return [
        paths.format_path(seg)
        for seg, _ in paths.iter_leaves(source.config)
        if not any(paths.covers(p, seg) for p in prefixes)
    ]


def uncovered_file_leaves(source: SourceAgent, result: MappingResult) -> list[str]:
    """Leaves of the file as the user gave it (camelCase, flattened) not under any change or finding.

    The same guarantee as ``uncovered_leaves``, checked in the file's own paths: what the
    reports point at must account for every leaf the user wrote.
    """
    prefixes = [
        paths.parse_path(source.user_path(p))
        for p in [a.source_path for a in result.assignments] + [f.source_path for f in result.findings]
    ]
    return [
        paths.format_path(seg)
        for seg, _ in paths.iter_leaves(source.raw)
        if not any(paths.covers(p, seg) for p in prefixes)
    ]
