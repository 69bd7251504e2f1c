"""Three-way sync: what changed since our last publish, on the source, on Atoms, or both.

During a gradual migration the ElevenLabs agent stays the source of truth while someone
tunes the Atoms copy in the dashboard. The state file remembers, per agent, a hash of each
field *unit* of the config we planned from the source (``planned_fields``) and of the config
read back live after our last verified publish (``published_fields``), plus the revision
published. A run compares:

- source side: the new plan's units against ``planned_fields`` (S);
- Atoms side: the live units against ``published_fields`` (T);

and classifies the agent: ``in-sync`` (neither), ``update`` (S only), ``drifted`` (T only),
``conflict`` (both). A field unit is a top-level config key, except ``singlePromptConfig``
whose keys (``prompt``, ``tools``) are units of their own, so a prompt edited in the source
and tools edited in the dashboard do not overlap. State entries written before these hashes
existed are classified from the source hash and the published revision id instead (the
published revision is read back to compare with the live one), and the run records the
hashes. ``resolve`` turns a classification and the ``--on-drift`` / ``--on-conflict`` /
``--merge`` choices into the plan to carry out: cut down to the units that may be written,
with a draft body that carries only those units. Pure: the caller reads, this decides.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from atoms_migrate import paths
from atoms_migrate.apply.state import AgentState, canonical_hash
from atoms_migrate.model import RESOURCE_STEPS, Action, AgentPlan, Step, TargetEdit
from atoms_migrate.plan.compare import differences, matches

SPLIT_KEYS = ("singlePromptConfig",)
METADATA_UNITS = ("name", "description")  # PATCH /agent, not the draft (Atoms §B.4)
ON_DRIFT = ("keep", "overwrite")
ON_CONFLICT = ("fail", "source", "target")
# The flag that settles each state, for reports.
RESOLVE_HINT = {
    "drifted": "--on-drift overwrite re-applies the source over the Atoms edits (default keep: nothing is written)",
    "conflict": "--merge writes the source's changes when they touch other fields than the Atoms edits; "
    "--on-conflict source re-applies the source; --on-conflict target keeps the Atoms edits",
}


def units(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The config as field units: top-level keys, with ``singlePromptConfig`` split by key."""
    out: dict[str, Any] = {}
    for key, value in (config or {}).items():
        if key in SPLIT_KEYS and isinstance(value, dict):
            for sub, inner in value.items():
                out[f"{key}.{sub}"] = inner
        elif value is not None:
            out[key] = value
    return out


def unit_of(path: str) -> str:
    segments = paths.parse_path(path)
    if len(segments) > 1 and segments[0] in SPLIT_KEYS and isinstance(segments[1], str):
        return f"{segments[0]}.{segments[1]}"
    return str(segments[0])


def unit_hashes(config: Mapping[str, Any] | None) -> dict[str, str]:
    """Hashes only (never values): the state file holds no config, so no secret can land in it."""
    return {unit: canonical_hash(value) for unit, value in units(config).items()}


def with_ids(value: Any, bindings: Mapping[str, str]) -> Any:
    """``value`` with the references bound at apply time (knowledge-base and clone ids) swapped
    for their ids; other references (secrets) stay as they are, so only names get hashed."""
    if isinstance(value, dict):
        return {k: with_ids(v, bindings) for k, v in value.items()}
    if isinstance(value, list):
        return [with_ids(v, bindings) for v in value]
    return bindings.get(value, value) if isinstance(value, str) else value


def _changed(hashes: Mapping[str, str], recorded: Mapping[str, str]) -> set[str]:
    return {u for u in set(hashes) | set(recorded) if hashes.get(u) != recorded.get(u)}


@dataclass(frozen=True)
class Sync:
    kind: str  # new | in-sync | update | drifted | conflict
    source_units: frozenset[str] = frozenset()
    target_units: frozenset[str] = frozenset()
    tracked: bool = False  # the state had unit hashes: writes can be cut down to changed units

    @property
    def overlap(self) -> frozenset[str]:
        return self.source_units & self.target_units


def classify(
    prior: AgentState | None,
    target_present: bool,
    plan: AgentPlan,
    live: Mapping[str, Any] | None,
    live_revision: str | None,
    source_hash: str,
    tables_hash: str,
    published: Mapping[str, Any] | None = None,
) -> Sync:
    """Where this agent stands. ``published`` is the config of the revision we last published,
    read back by the caller only for an older state entry whose live revision moved."""
    if not target_present:
        return Sync("new")
    planned = units(plan.target_config)
    live_units = units(live)
    source: set[str]
    target: set[str]
    if prior is not None and prior.planned_fields and prior.published_fields:
        source = _changed(unit_hashes(plan.target_config), prior.planned_fields)
        target = _changed(unit_hashes(live), prior.published_fields)
        return _kind(source, target, tracked=True)
    # An older entry (or none: an agent found by its marker): hashes of the whole source and the revision id.
    source_same = (
        prior is not None
        and bool(prior.source_hash)
        and prior.source_hash == source_hash
        and (not prior.tables_hash or prior.tables_hash == tables_hash)
    )
    moved = prior is not None and bool(prior.revision_id) and bool(live_revision) and live_revision != prior.revision_id
    target = set()
    if moved and published is not None:
        base = units(published)
        # A revision holds the config only (agent-level fields live on the agent): compare what it holds.
        target = {u for u in base if canonical_hash(base[u]) != canonical_hash(live_units.get(u))}
    elif moved:
        # Someone published since, and our revision cannot be read: every field that differs from
        # the plan may be theirs. Safer to call it drift than to overwrite it.
        target = {unit_of(c.path) for c in plan.changes}
    if source_same:
        source = set() if target else {unit_of(c.path) for c in plan.changes}
    elif target and published is not None:
        base = units(published)
        source = {u for u, value in planned.items() if u not in base or not matches(value, base[u])}
    else:
        source = {unit_of(c.path) for c in plan.changes}
    return _kind(source, target, tracked=False)


def _kind(source: set[str], target: set[str], tracked: bool) -> Sync:
    kind = {(False, False): "in-sync", (True, False): "update", (False, True): "drifted", (True, True): "conflict"}[
        (bool(source), bool(target))
    ]
    return Sync(kind, frozenset(source), frozenset(target), tracked)


def target_edits(
    sync: Sync, published: Mapping[str, Any] | None, live: Mapping[str, Any] | None
) -> tuple[TargetEdit, ...]:
    """Field by field, what was edited on Atoms: the published value (None when the published
    revision could not be read) against the live one, for each unit the Atoms side changed."""
    base, now = units(published), units(live)
    edits: list[TargetEdit] = []
    for unit in sorted(sync.target_units):
        before, after = base.get(unit), now.get(unit)
        if published is None or not isinstance(before, (dict, list)) or not isinstance(after, (dict, list)):
            edits.append(TargetEdit(unit, before, after))
            continue
        seen: set[str] = set()
        for path, pub, lv in differences(before, after, unit) + [
            (p, b, a) for p, a, b in differences(after, before, unit)
        ]:
            if path not in seen:
                seen.add(path)
                edits.append(TargetEdit(path, pub, lv))
    return tuple(edits)


@dataclass(frozen=True)
class Choices:
    on_drift: str = "keep"
    on_conflict: str = "fail"
    merge: bool = False


def resolve(
    plan: AgentPlan, sync: Sync, choices: Choices, live: Mapping[str, Any] | None, edits: tuple[TargetEdit, ...] = ()
) -> tuple[AgentPlan, str]:
    """(the plan to carry out, how the sync was settled).

    ``new`` and legacy ``update``/``in-sync`` plans stand as planned. Otherwise the plan is cut
    down to the units that may be written: the source's changes for an update or a merge,
    nothing for a kept drift, a failed conflict or a conflict settled for the target, and the
    whole plan for ``--on-drift overwrite`` / ``--on-conflict source``.
    """
    if sync.kind == "new":
        return replace(plan, sync="new"), ""
    held = tuple(c for c in plan.changes if unit_of(c.path) in sync.source_units)
    if sync.kind in ("in-sync", "update"):
        kept = restrict(plan, live, sync.source_units) if sync.tracked else plan
        return replace(kept, sync=sync.kind), ""
    if sync.kind == "drifted":
        if choices.on_drift == "overwrite":
            return replace(plan, sync="drifted", resolution="overwrite", target_edits=edits), "overwrite"
        return replace(restrict(plan, live, ()), sync="drifted", resolution="keep", target_edits=edits), "keep"
    if choices.merge and not sync.overlap:
        return replace(
            restrict(plan, live, sync.source_units), sync="conflict", resolution="merge", target_edits=edits
        ), "merge"
    if choices.on_conflict == "source":
        return replace(plan, sync="conflict", resolution="source", target_edits=edits), "source"
    how = "target" if choices.on_conflict == "target" else "fail"
    return replace(
        restrict(plan, live, ()), sync="conflict", resolution=how, target_edits=edits, pending_changes=held
    ), how


def restrict(plan: AgentPlan, live: Mapping[str, Any] | None, allowed: Collection[str]) -> AgentPlan:
    """The plan cut down to ``allowed`` units, written over the live config.

    The expected config (what the read-back must show) is the live config with those units
    taken from the plan; the draft body carries only those units, so a field edited on Atoms
    is neither sent nor compared. Credential headers read from Atoms are masked (live.py), so
    a tools unit is only ever sent from the plan, never from the live copy. Org-resource steps
    (knowledge bases, voice clones) stay: they are not agent config.
    """
    allowed = set(allowed)
    changes = tuple(c for c in plan.changes if unit_of(c.path) in allowed)
    resources = tuple(s for s in plan.steps if s.kind in RESOURCE_STEPS)
    expected = copy.deepcopy(dict(live or {}))
    body: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    for unit in sorted({unit_of(c.path) for c in changes}):
        value = paths.get(plan.target_config, unit)
        if value is None:
            continue
        paths.set_value(expected, unit, copy.deepcopy(value))
        if unit in METADATA_UNITS:
            meta[unit] = value
        else:
            paths.set_value(body, unit, copy.deepcopy(value))
    spc = body.get("singlePromptConfig")
    if isinstance(spc, dict) and "tools" in spc and "prompt" not in spc:
        # v1 refuses tools without the prompt (Atoms §K.2): send the live prompt with them.
        prompt = paths.get(expected, "singlePromptConfig.prompt")
        if isinstance(prompt, str):
            spc["prompt"] = prompt
    steps: list[Step] = list(resources)
    if meta:
        steps.append(Step("metadata", f"update {', '.join(meta)} (PATCH /agent/{{id}})", meta))
    if body:
        steps.append(
            Step(
                "draft",
                f"write {len(units(body))} changed field(s) into a draft on the target branch "
                "(only the fields the source changed)",
                body,
            )
        )
        steps.append(Step("publish", "publish the draft and wait for the security scan"))
    if meta or body:
        steps.append(Step("verify", "read the live config back and compare it with the plan"))
    action: Action = "update" if (meta or body) else "no-op"
    return replace(plan, action=action, changes=changes, steps=tuple(steps), target_config=expected)
