"""One agent's migration, from source to recorded result; shared by ``agent``, ``all`` and ``apply``.

``Run`` holds what a whole run shares: the Atoms and ElevenLabs clients, the tables, the
options, the voice catalog (read once), the cache of referenced tools, voices and documents
(so a batch reads a shared tool once) and the one lock every state write goes through (so
concurrent workers never lose each other's entries). Per agent, ``plan`` finds the target
and plans against it (reads only) and ``apply`` makes the resources, applies the plan, and
records the result, also after a failure half-way so a re-run resumes instead of
duplicating. Nothing here prints or reads the environment: progress goes to a callback.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from atoms_migrate.apply import postcall
from atoms_migrate.apply.applier import (
    Applier,
    ApplyOptions,
    ApplyResult,
    ConcurrentEdit,
    Target,
    locate,
    revision_detail,
    version_detail,
)
from atoms_migrate.apply.resources import ResourceApplier, ResourceOutcome, Tracker
from atoms_migrate.apply.state import (
    AgentState,
    StateFile,
    WebhookSubscriptionState,
    canonical_hash,
    entry_after,
    load_state,
    tables_hash,
    update_state,
)
from atoms_migrate.apply.sync import RESOLVE_HINT, Choices, classify, resolve, target_edits, unit_hashes, with_ids
from atoms_migrate.errors import ApiError, ConfigError, MigrationError
from atoms_migrate.mapping.engine import MapOptions
from atoms_migrate.mapping.refs import lookup_secret, parse_ref, refs_in
from atoms_migrate.mapping.tables import MappingTables
from atoms_migrate.mapping.voices import CatalogVoice, parse_catalog
from atoms_migrate.mapping.webhooks import ToolOptions
from atoms_migrate.model import RESOURCE_STEPS, AgentPlan, Step
from atoms_migrate.plan.compare import differences
from atoms_migrate.plan.live import live_config
from atoms_migrate.plan.planner import marker_key, plan_agent
from atoms_migrate.platforms.elevenlabs import ElevenLabsClient
from atoms_migrate.platforms.smallest import AtomsClient
from atoms_migrate.source.gather import Cache, gather
from atoms_migrate.source.identity import file_key, legacy_keys, project_root
from atoms_migrate.source.select import SourceSpec, is_suffixed
from atoms_migrate.source.shapes import SourceAgent, normalise, read_config_file, reject_bad_numbers

Progress = Callable[[str, str], None]  # (source key, text)


class ConflictError(MigrationError):
    """The source and the Atoms agent both changed since our last publish, and no flag said how to settle it."""


@dataclass(frozen=True)
class RunConfig:
    tables: MappingTables
    state_path: Path
    tool_options: ToolOptions = field(default_factory=ToolOptions)
    secret_values: dict[str, str] = field(default_factory=dict, repr=False)
    clone_voices: bool = False
    branch: str | None = None
    force: bool = False
    versioning: str = "auto"
    publish_timeout: float = 120.0
    label_prefix: str = "atoms-migrate"
    font: Path | None = None
    sync: Choices = field(default_factory=Choices)  # --on-drift / --on-conflict / --merge
    direct: bool = False  # update live agents in place instead of stage, prove, go live


@dataclass
class Planned:
    """A plan with what it was made against: needed to apply it, or to save it."""

    plan: AgentPlan
    source: SourceAgent
    target: Target | None
    prior: AgentState | None
    planned_config: dict[str, Any] = field(
        default_factory=dict
    )  # the whole config the source maps to, before sync cut it down

    @property
    def source_hash(self) -> str:
        return canonical_hash(self.source.raw)

    @property
    def target_revision(self) -> str | None:
        return self.target.revision_id if self.target else None


@dataclass
class Outcome:
    planned: Planned
    status: str  # created | updated | unchanged | drifted (kept, nothing written) | failed
    result: ApplyResult | None = None
    resources: ResourceOutcome = field(default_factory=ResourceOutcome)
    error: MigrationError | None = None
    replanned: Planned | None = None  # after a concurrent edit: the plan made again against the new head


class Run:
    def __init__(
        self,
        config: RunConfig,
        atoms: AtomsClient | None,
        elevenlabs: ElevenLabsClient | None,
        progress: Progress = lambda key, text: None,
        tracker: Tracker | None = None,
        batch: bool = False,
    ) -> None:
        self.config, self.atoms, self.elevenlabs, self.progress, self.tracker = (
            config,
            atoms,
            elevenlabs,
            progress,
            tracker,
        )
        self.batch = batch  # many agents: list the account's markers once instead of searching per agent
        self.versioning_hint: str | None = None  # the account's versioning model, once one agent showed it
        self._index_lock = threading.Lock()
        self._marker_index: dict[str, str] | None = None
        self.cache = Cache()
        self._state_lock = threading.Lock()
        self._catalog_lock = threading.Lock()
        self._clone_lock = threading.Lock()
        self._webhook_lock = threading.Lock()
        self.reveal: Callable[[str], None] = lambda text: None  # a webhook's signing secret, shown once (never stored)
        self._catalog: tuple[CatalogVoice, ...] | None = None
        self.pro_voices: frozenset[str] = frozenset()  # catalog voices of the Pro pool (§K.4)
        self._catalog_read = False
        self.catalog_note: str | None = None
        self._forms_lock = threading.Lock()
        self._forms: dict[str, str] | None = None  # the account's write forms, shared by the whole batch

    # -- shared pieces -------------------------------------------------------------------------

    def remember(self, change: Callable[[StateFile], None]) -> None:
        with self._state_lock:
            update_state(self.config.state_path, change)

    def state(self) -> StateFile:
        with self._state_lock:
            return load_state(self.config.state_path)

    def forms(self) -> dict[str, str]:
        """The account's write form per uncertain field (state ``write_forms``), learnt once per run."""
        with self._forms_lock:
            if self._forms is None:
                self._forms = dict(self.state().write_forms)
            return dict(self._forms)

    def remember_form(self, field_name: str, form: str) -> None:
        """A read-back showed which form works: the rest of the batch and later runs use it from the start."""
        with self._forms_lock:
            if self._forms is None:
                self._forms = dict(self.state().write_forms)
            self._forms[field_name] = form
        self.remember(lambda state: state.write_forms.__setitem__(field_name, form))

    def catalog(self) -> tuple[CatalogVoice, ...] | None:
        """The account's Lightning v3.1 voices, read once per run (None without Atoms or when unreadable)."""
        with self._catalog_lock:
            if not self._catalog_read and self.atoms is not None:
                self._catalog_read = True
                self._catalog, self.catalog_note, self.pro_voices = read_catalog(self.atoms, with_pro=True)
            return self._catalog

    def marker_index(self) -> dict[str, str] | None:
        """Source key -> Atoms agent id for every agent carrying a marker (one listing per batch)."""
        if not self.batch or self.atoms is None:
            return None
        with self._index_lock:
            if self._marker_index is None:
                index: dict[str, str] = {}
                page, more = 1, True
                while more:
                    agents, more = self.atoms.list_agents(page=page, page_size=100)
                    for agent in agents:
                        key = marker_key(agent.get("description"))
                        if key and not agent.get("archived") and key not in index:
                            index[key] = str(agent.get("_id") or agent.get("id"))
                    page += 1
                self._marker_index = index
            return self._marker_index

    def read(self, spec: SourceSpec, offline_tools: dict[str, dict[str, Any]] | None = None) -> SourceAgent:
        return read_source(
            spec,
            self.elevenlabs,
            self.config.tables.voices,
            offline_tools,
            self.cache,
            root=project_root(self.config.state_path),
        )

    def apply_options(self, key: str) -> ApplyOptions:
        c = self.config
        return ApplyOptions(
            branch_name=c.branch,
            force=c.force,
            versioning=c.versioning,
            publish_timeout=c.publish_timeout,
            label=f"{c.label_prefix} {key}",
            direct=c.direct,
        )

    # -- per agent ------------------------------------------------------------------------------

    def recorded_name(self, source: SourceAgent, state: StateFile | None = None) -> str | None:
        """The Atoms name the state records for this source, while the source's own name is unchanged."""
        prior = found((state or self.state()).agents, source)
        return recorded_name(source, prior)

    def plan(self, source: SourceAgent, name: str | None = None) -> Planned:
        """Find the target and plan against it: reads only. ``name``: the Atoms name a batch decided."""
        state = self.state()
        prior = found(state.agents, source)
        name = name or recorded_name(source, prior)
        notes = list(source.notes)
        target = None
        if self.atoms is None:
            notes.append("SMALLEST_API_KEY is not set: planned as a new agent without reading Atoms.")
        else:
            target = locate(
                self.atoms,
                source.key,
                prior.smallest_agent_id if prior else None,
                self.apply_options(source.key),
                notes,
                name=source.name,
                known_versioning=(prior.versioning if prior else None) or self.versioning_hint,
                marker_index=None if prior else self.marker_index(),  # a stale entry falls back to a name search
                aliases=source.aliases,
                forms=self.forms(),
            )
            if target is not None:
                self.versioning_hint = self.versioning_hint or target.versioning
        catalog = self.catalog()
        if self.catalog_note:
            notes.append(self.catalog_note)
        source = replace(source, notes=tuple(notes))
        kb = found(state.knowledge_bases, source)
        reason = ""
        if name and name != source.name:
            reason = (
                f"Another source is also named {source.name!r}: this one is {name!r} on Atoms "
                f"({'recorded in the state' if prior and prior.name == name else 'decided for this batch'}; "
                "Atoms §K.5)."
            )
        options = MapOptions(
            tools=self.config.tool_options,
            catalog=catalog,
            clone_voices=self.config.clone_voices,
            clones=dict(state.voice_clones),
            kb_id=kb.kb_id if kb else None,
            kb_documents=dict(kb.documents) if kb else {},
            name=name,
            name_reason=reason,
        )
        plan = plan_agent(
            source,
            self.config.tables,
            current=target.config if target else None,
            target_agent_id=target.agent_id if target else None,
            options=options,
        )
        planned_config = plan.target_config
        plan = self._sync(plan, source, target, prior)
        plan = _webhook_steps_last(plan, state.webhook_subscriptions.get(source.key), target)
        return Planned(plan, source, target, prior, planned_config)

    def _sync(self, plan: AgentPlan, source: SourceAgent, target: Target | None, prior: AgentState | None) -> AgentPlan:
        """Classify the agent three ways (sync.py) and cut the plan down to what may be written."""
        live = target.config if target else None
        args = (
            prior,
            target is not None,
            plan,
            live,
            target.revision_id if target else None,
            canonical_hash(source.raw),
            tables_hash(self.config.tables),
        )
        result = classify(*args)
        published = None
        moved = bool(target and prior and prior.revision_id and target.revision_id != prior.revision_id)
        if (
            target is not None
            and prior is not None
            and (result.kind in ("drifted", "conflict") or (moved and not result.tracked))
        ):
            published = self._published(target, prior)
            if not result.tracked:
                result = classify(*args, published=published)
        edits = target_edits(result, published, live) if result.kind in ("drifted", "conflict") else ()
        resolved, _ = resolve(plan, result, self.config.sync, live, edits)
        return resolved

    def _published(self, target: Target, prior: AgentState) -> dict[str, Any] | None:
        """The config of the revision (v1: version) we last published, in planner shape; None when unreadable."""
        assert self.atoms is not None
        try:
            if target.versioning == "v1":
                resolved = version_detail(self.atoms, target.agent_id, str(prior.revision_id)).resolved_config
            else:
                branch = prior.branch_id or target.branch_id
                detail = revision_detail(self.atoms, target.agent_id, str(branch), str(prior.revision_id))
                resolved = detail.resolved_config
        except ApiError as exc:
            if exc.status in (401, 403):
                raise
            return None
        return live_config({}, resolved) if resolved else None

    def bindings(self, plan: AgentPlan) -> dict[str, str]:
        """Values for the secret references in the plan's step bodies."""
        out: dict[str, str] = {}
        for step in plan.steps:
            for ref in refs_in(step.body):
                kind, name = parse_ref(ref) or ("", "")
                value = lookup_secret(self.config.secret_values, name) if kind == "secret" else None
                if value is not None:
                    out[ref] = value
        return out

    def record_unchanged(self, planned: Planned) -> None:
        """Record a run that wrote nothing: the live revision and both sides' field hashes.

        Not for a kept drift or an unresolved conflict: those must show again next time. A
        conflict settled for the target (``--on-conflict target``) is recorded, which adopts
        the Atoms edits as the new baseline.
        """
        plan = planned.plan
        if planned.target is None or (plan.sync == "drifted" and plan.resolution == "keep") or plan.blocked:
            return
        entry = entry_after(
            planned.target.unchanged(),
            plan.source.name,
            planned.source.raw,
            self.config.tables,
            planned.prior,
            source_name=planned.source.name or "",
        )
        entry.revision_id = planned.target.revision_id or entry.revision_id
        entry.planned_fields = unit_hashes(planned.planned_config)
        entry.published_fields = unit_hashes(planned.target.config)
        self.remember(lambda state: put(state.agents, planned.source, entry))

    def apply(self, planned: Planned) -> Outcome:
        """Make the resources, apply the plan, verify, record; a failure is returned, not raised."""
        key, plan = planned.source.key, planned.plan
        if plan.blocked:
            return Outcome(
                planned,
                "failed",
                error=ConflictError(
                    "the source and the Atoms agent both changed since the last migration "
                    f"({len(plan.target_edits)} field(s) "
                    "edited on Atoms); nothing was written",
                    RESOLVE_HINT["conflict"],
                ),
            )
        if not plan.has_changes():
            self.record_unchanged(planned)
            return Outcome(planned, "drifted" if plan.sync == "drifted" and plan.resolution == "keep" else "unchanged")
        outcome = Outcome(planned, "failed")
        atoms = self.atoms
        if atoms is None:  # the CLI requires SMALLEST_API_KEY for a run that writes; a library caller may not
            outcome.error = ConfigError("SMALLEST_API_KEY is not set, so nothing can be written to Smallest Atoms")
            return outcome

        def on_draft(partial: ApplyResult) -> None:  # recorded at once: a kill before the publish must not orphan it
            entry = entry_after(
                partial,
                plan.source.name,
                planned.source.raw,
                self.config.tables,
                planned.prior,
                source_name=planned.source.name or "",
            )
            self.remember(lambda state: put(state.agents, planned.source, entry))

        live_name: str | None = None
        applier = Applier(
            atoms,
            self.apply_options(key),
            progress=lambda text: self.progress(key, text),
            known_versioning=self.versioning_hint,
            own_draft=planned.prior.open_draft if planned.prior else None,
            on_draft=on_draft,
            forms=self.forms(),
            remember_form=self.remember_form,
            pro_voices=self.pro_voices,
        )
        try:
            if any(s.kind in RESOURCE_STEPS for s in plan.steps):
                runner = ResourceApplier(
                    atoms,
                    self.elevenlabs,
                    self.state,
                    self.remember,
                    progress=lambda text: self.progress(key, text),
                    tracker=self.tracker,
                    font=self.config.font,
                    clone_lock=self._clone_lock,
                )
                outcome.resources = runner.outcome
                runner.run(plan)
            applier.bindings.update(self.bindings(plan) | outcome.resources.bindings)
            outcome.result = applier.apply(plan, planned.target)
            live_name = accept_name_suffix(outcome.result, plan)
            for step in (s for s in plan.steps if s.kind == "webhook"):
                self._webhook(atoms, key, outcome.result.agent_id, step.body or {}, outcome)
            self.versioning_hint = self.versioning_hint or outcome.result.versioning
            changed = (
                outcome.result.created
                or bool(outcome.result.revision_id)
                or bool(outcome.resources.events)
                or any(s.kind == "metadata" for s in plan.steps)
            )
            outcome.status = "created" if outcome.result.created else ("updated" if changed else "unchanged")
            if outcome.result.differences:
                outcome.status = "failed"
                where = (
                    " in the staged revision: the live agent was left untouched"
                    if outcome.result.staged and not outcome.result.live
                    else ""
                )
                outcome.error = MigrationError(
                    f"{len(outcome.result.differences)} field(s) read back differ from the plan{where}"
                )
        except ConcurrentEdit as exc:
            outcome.error = self._replan_after(planned, outcome, exc)
        except MigrationError as exc:
            outcome.error = exc
        finally:
            partial = applier.result
            if partial is not None and (partial.created or partial.revision_id):
                entry = entry_after(
                    partial,
                    live_name or plan.source.name,
                    planned.source.raw,
                    self.config.tables,
                    planned.prior,
                    source_name=planned.source.name or "",
                )
                if outcome.error is None and partial.read_config is not None:  # verified: both sides' baselines
                    entry.planned_fields = unit_hashes(with_ids(planned.planned_config, outcome.resources.bindings))
                    entry.published_fields = unit_hashes(partial.read_config)
                self.remember(lambda state: put(state.agents, planned.source, entry))
            elif planned.target is not None and applier.result is not None and outcome.error is None:
                self.record_unchanged(planned)
        return outcome

    def _webhook(self, atoms: AtomsClient, key: str, agent_id: str, body: dict[str, Any], outcome: Outcome) -> None:
        """Subscribe the agent to its post-call webhook (postcall.py) and record both; a failure is the agent's
        warning."""

        def say(text: str) -> None:
            outcome.resources.events.append(text)
            self.progress(key, text)

        try:
            done = postcall.subscribe(atoms, agent_id, body, say, self.reveal, self._webhook_lock)
        except MigrationError as exc:
            outcome.resources.failures.append(
                f"post-call webhook: {exc.message}" + (f" ({exc.hint})" if exc.hint else "")
            )
            return
        entry = WebhookSubscriptionState(
            webhook_id=done.webhook_id,
            agent_id=agent_id,
            url_hash=postcall.url_hash(str(body["url"])),
            event_types=done.event_types,
        )

        def change(state: StateFile) -> None:
            state.webhooks[entry.url_hash] = done.webhook_id
            state.webhook_subscriptions[key] = entry

        self.remember(change)

    def _replan_after(self, planned: Planned, outcome: Outcome, exc: ConcurrentEdit) -> MigrationError:
        """Someone edited the target meanwhile: re-read it, plan again, and say what changed (nothing is
        overwritten)."""
        try:
            outcome.replanned = self.plan(planned.source)
        except MigrationError as again:
            return MigrationError(f"{exc.message}; reading it again failed: {again.message}", exc.hint)
        before = planned.target.config if planned.target else {}
        after = outcome.replanned.target.config if outcome.replanned.target else {}
        moved = {p for p, _, _ in differences(before, after)} | {p for p, _, _ in differences(after, before)}
        changed = sorted(moved | set(exc.fields))
        remaining = len(outcome.replanned.plan.changes)
        detail = (
            f"changed by the other edit: {', '.join(changed)}" if changed else "the other edit is not published yet"
        )
        return ConcurrentEdit(
            f"{exc.message}. {detail}; planned again against the new head: {remaining} change(s) would now be written",
            exc.hint or "Re-run to apply the new plan.",
            changed,
        )


def _webhook_steps_last(plan: AgentPlan, recorded: WebhookSubscriptionState | None, target: Target | None) -> AgentPlan:
    """Webhook steps run once the agent exists, so they go last; one the state shows done is dropped
    (a re-run makes no webhook request)."""
    hooks = [s for s in plan.steps if s.kind == "webhook"]
    if not hooks:
        return plan

    def done(step: Step) -> bool:
        body = step.body or {}
        return (
            recorded is not None
            and target is not None
            and recorded.agent_id == target.agent_id
            and recorded.url_hash == postcall.url_hash(str(body.get("url", "")))
            and set(body.get("event_types") or []) <= set(recorded.event_types)
        )

    rest = tuple(s for s in plan.steps if s.kind != "webhook")
    return replace(plan, steps=rest + tuple(s for s in hooks if not done(s)))


def found(entries: dict[str, Any], source: SourceAgent) -> Any:
    """The entry for ``source`` under its key, else under a key an earlier version gave it."""
    return next((entries[k] for k in source.keys if k in entries), None)


def put(entries: dict[str, Any], source: SourceAgent, entry: Any) -> None:
    """Record ``entry`` under the source's key; entries under its older keys are moved, not duplicated."""
    for alias in source.keys[1:]:
        entries.pop(alias, None)
    entries[source.key] = entry


def recorded_name(source: SourceAgent, prior: AgentState | None) -> str | None:
    """The Atoms name recorded for ``source`` while its own name is unchanged (so nothing is renamed back)."""
    if prior is None or not prior.name or not source.name:
        return None
    if prior.source_name:
        return prior.name if prior.source_name == source.name else None
    return prior.name if prior.name == source.name or is_suffixed(prior.name, source.name) else None


def accept_name_suffix(result: ApplyResult, plan: AgentPlan) -> str | None:
    """Atoms §K.5: a create whose name was taken comes back as "<name> (2)". That is not a failed
    read-back: drop the difference and return the live name, which the state then records."""
    for difference in list(result.differences):
        path, planned, live = difference
        if path == "name" and isinstance(planned, str) and isinstance(live, str) and is_suffixed(live, planned):
            result.differences.remove(difference)
            result.events.append(f"Atoms named the agent {live!r} ({planned!r} is taken); recorded, not renamed back")
            return live
    return None


def read_catalog(atoms: AtomsClient | None, with_pro: bool = False) -> Any:
    """(the account's Lightning v3.1 voices, a note when they could not be read[, the Pro-pool voice ids]);
    auth failures raise."""
    from atoms_migrate.apply.writeforms import pro_voice_ids

    found: tuple[Any, ...]
    if atoms is None:
        found = (None, None, frozenset())
    else:
        try:
            body = atoms.get_voices()
            found = (tuple(parse_catalog(body)), None, pro_voice_ids(body))
        except ApiError as exc:
            if exc.status in (401, 403):
                raise
            found = (
                None,
                f"the voice catalog could not be read ({exc.message}); voice ids were not checked",
                frozenset(),
            )
    return found if with_pro else found[:2]


def read_source(
    spec: SourceSpec,
    elevenlabs: ElevenLabsClient | None,
    voice_table: Any,
    offline_tools: dict[str, dict[str, Any]] | None = None,
    cache: Cache | None = None,
    root: Path | None = None,
) -> SourceAgent:
    """An agent id read from ElevenLabs, or a file; what it references is read too when a client is given.

    For a file, failing to read those references is a note (the file is the source); for an
    id, it is an error like any other read.
    """
    tools = dict(offline_tools or {})
    if spec.kind == "id":
        if elevenlabs is None:
            raise ConfigError(
                "ELEVENLABS_API_KEY is not set, so the agent cannot be read from ElevenLabs",
                "Export ELEVENLABS_API_KEY, or pass an exported agent config file instead of an id.",
            )
        raw = reject_bad_numbers(elevenlabs.get_agent(spec.ref), f"ElevenLabs agent {spec.ref}")
        agent = replace(normalise(raw, spec.ref), tools=tools)
        return gather(agent, elevenlabs, voice_table, cache)
    path = Path(spec.ref)
    agent = replace(normalise(read_config_file(path), str(path), path=str(path)), tools=tools)
    if root is not None:  # one identity however the path is spelled (identity.py)
        agent = replace(agent, identity=file_key(path, root), aliases=legacy_keys(path))
    if spec.agent_id and not agent.agent_id:  # a CLI project's registry knows the agent's id
        agent = replace(agent, agent_id=spec.agent_id)
    if elevenlabs is None:
        return agent
    try:
        return gather(agent, elevenlabs, voice_table, cache)
    except ApiError as exc:
        note = (
            f"tools and voices it references could not be read from ElevenLabs ({exc.message}); "
            "planned from the file alone"
        )
        return replace(agent, notes=(*agent.notes, note))


def describe(outcome: Outcome) -> dict[str, Any]:
    """An outcome for JSON output: the apply result, resources, and the error if any."""
    doc: dict[str, Any] = {"source_key": outcome.planned.source.key, "status": outcome.status}
    if outcome.result is not None:
        doc |= outcome.result.to_dict()
    doc["resource_events"] = outcome.resources.events
    doc["resource_failures"] = outcome.resources.failures
    if outcome.error is not None:
        doc["error"] = {"message": outcome.error.message, "hint": outcome.error.hint}
    if outcome.replanned is not None:
        doc["replanned"] = outcome.replanned.plan.to_dict()
    return doc
