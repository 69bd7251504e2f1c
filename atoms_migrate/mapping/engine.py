"""The mapping engine: source config + tables -> assignments and findings (pure).

``map_agent`` runs every concept of ``mappings/concepts.yaml`` through its named transform
(``transforms``), then accounts for every remaining leaf of the source: a prefix rule
from the tables gives it a fate (ignored with a reason, or reported), and anything still
left is reported as an unknown field. The result satisfies the "nothing dropped silently"
rule by construction: every non-null leaf lies under the ``source_path`` of an assignment
or a finding (``uncovered_leaves`` proves it, and the tests call it on every corpus agent).
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

from atoms_migrate import paths
from atoms_migrate.mapping.context import CONCEPTS_FILE, MapContext, MapOptions, coverage_prefixes
from atoms_migrate.mapping.numbers import bounded, number_range, show_number
from atoms_migrate.mapping.schema import MappingTables, PrefixRule
from atoms_migrate.mapping.toolcalls import ToolParity
from atoms_migrate.mapping.transforms import TRANSFORMS
from atoms_migrate.model import Assignment, Finding, Step
from atoms_migrate.paths import Segment
from atoms_migrate.source.shapes import SourceAgent, env_placeholders

# The context and options are defined in ``context``; callers have always imported them from here.
__all__ = [
    "MapContext",
    "MapOptions",
    "MappingResult",
    "clamp_numbers",
    "map_agent",
    "uncovered_file_leaves",
    "uncovered_leaves",
]
_VAR_REF = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}\}")


@dataclass(frozen=True)
class MappingResult:
    assignments: tuple[Assignment, ...]
    findings: tuple[Finding, ...]
    secrets: dict[str, str] = field(default_factory=dict, repr=False)  # literal credentials from the source, by name
    resources: tuple[Step, ...] = ()  # org resources to make before the agent: voice clones, knowledge bases
    tool_parity: tuple[ToolParity, ...] = ()  # each api_call rendered as ElevenLabs and as Atoms send it


def map_agent(source: SourceAgent, tables: MappingTables, options: MapOptions | None = None) -> MappingResult:
    """Map one source agent through the tables (pure)."""
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
    system = set(ctx.tables.concepts.system_variables) | set(ctx.tables.concepts.atoms_system_variables)
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
                    (
                        f"Variables without a default value: {', '.join(missing)}; Atoms speaks an unset variable "
                        "literally."
                    ),
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
            (
                f"Unknown field `{paths.format_path(top)}`: not part of the ElevenLabs agent schema this tool knows, "
                "so it is not migrated."
            ),
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
