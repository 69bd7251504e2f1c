"""Carry out an ``AgentPlan`` on Smallest Atoms, then read the result back and compare.

The plan says what to write (its ``Step`` bodies); this module knows how, on either
versioning model (smallest-atoms-api.md §C.9):

- v2: branches -> PUT draft -> publish -> 202 ``scanning`` -> poll the revisions until the
  new one is ``published`` (bounded; a failed scan is an error with its reason, and our
  draft is discarded so the branch is left clean) -> make live when needed (§C.5–C.7, §H.3);
- v1: open a draft from the active version -> PATCH config -> publish -> wait for
  ``securityCheck.status == passed`` -> activate explicitly (publish's ``activate`` is
  ignored, §B.11, §H.2). A 409 ``versioning_v2_migration_required`` switches to v2.

Safety rules: an open draft that is not ours is never published silently (refused unless
``force``, which discards it, §H.4); ``POST /agent`` after an ambiguous failure first looks
for the agent by its marker (``plan.marker``) before creating again; 409
``publish_in_progress`` waits and retries. ``locate`` finds the target agent for planning
(state entry, then marker) and reads its live config; ``read_back`` is the verification.
Progress goes to an injected callback; sleeping and the clock are injected for tests.

Never leave a broken config live: an agent that is already live is updated by *stage,
prove, go live* (unless ``direct``): the draft is written on a fresh staging branch forked
from the live one, published there, read back and compared with the plan, and only an
equal result is made live; otherwise the live branch is untouched and the staging branch
is kept for inspection (``promote`` can still make it live). On v1 the new version is read
back before it is activated. Every v2 draft write carries ``expectedRevision`` (§K.1): a
colleague's concurrent edit is a ``ConcurrentEdit`` error, never an overwrite, and so is a
live branch that moved since the plan was made. Draft bodies go on the wire through
``writeforms`` (the SDK's fields, the account's forms for unproven ones); when a read-back
shows such a field did not stick, its next form is tried once and reported.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from atoms_migrate import paths
from atoms_migrate.apply.writeforms import (
    WriteForms,
    chosen,
    is_pro,
    load_write_forms,
    next_form,
    project,
    unwritten_paths,
    wire_body,
)
from atoms_migrate.errors import ApiError, MigrationError
from atoms_migrate.mapping.refs import Redactor, resolve, secret_ref
from atoms_migrate.model import AgentPlan, Step
from atoms_migrate.plan.compare import differences
from atoms_migrate.plan.live import live_config
from atoms_migrate.plan.planner import has_marker, marker_key
from atoms_migrate.platforms.smallest import (
    MIGRATION_REQUIRED,
    PUBLISH_IN_PROGRESS,
    V1_DRAFT_NAME,
    AmbiguousWriteError,
    AtomsClient,
    DraftConflictError,
    VersioningUnavailable,
)
from atoms_migrate.platforms.smallest_models import (
    BranchSummary,
    PublishResult,
    Revision,
    RevisionDetail,
    VersionDetail,
    parse,
    parse_list,
)

PASSED, FAILED = {"passed"}, {"failed", "errored", "error"}
COMMITTED = ("published", "committed")  # §C.2: the spec says committed, Revision.status says published
AMBIGUOUS_WRITE_ATTEMPTS = 3  # a write that answered ambiguously is sent at most this often, after looking each time
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9 .,_()\-]")
MARKER_SEARCH_PAGES = 20


class DraftOpenError(MigrationError):
    """The target branch has unpublished edits that are not ours."""


class ForeignTargetError(MigrationError):
    """The state names an Atoms agent that carries another source's marker."""


class SecurityScanFailed(MigrationError):
    """Atoms' security scan rejected the published config."""


class PublishTimeout(MigrationError):
    """The publish did not finish within the allowed time."""


class ConcurrentEdit(MigrationError):
    """Someone changed the target agent between our read and our write: nothing was overwritten."""

    def __init__(self, message: str, hint: str | None = None, fields: list[str] | None = None) -> None:
        super().__init__(message, hint)
        self.fields = list(fields or [])


STAGING_PREFIX = "atoms-migrate-staging"


@dataclass(frozen=True)
class ApplyOptions:
    branch_name: str | None = None  # staging: write to this branch, do not make it live
    force: bool = False
    versioning: str = "auto"  # auto | v2 | v1
    publish_timeout: float = 120.0
    poll_interval: float = 2.0
    label: str = "atoms-migrate"
    direct: bool = False  # update a live agent in place instead of stage, prove, go live


@dataclass
class Target:
    """An existing Atoms agent and the config live on the branch a plan would write to."""

    agent_id: str
    versioning: str
    config: dict[str, Any]
    branch_id: str | None = None
    branch_name: str | None = None
    live: bool = True  # False when the branch read is the --branch being staged
    revision_id: str | None = None  # head revision (v2) or active version (v1) read: what a saved plan was made against

    def unchanged(self) -> ApplyResult:
        """The result of a run that found nothing to write."""
        return ApplyResult(
            agent_id=self.agent_id,
            versioning=self.versioning,
            created=False,
            branch_id=self.branch_id,
            branch_name=self.branch_name,
            live=self.live,
        )


@dataclass
class ApplyResult:
    agent_id: str
    versioning: str
    created: bool
    branch_id: str | None = None
    branch_name: str | None = None
    live: bool = True
    revision_id: str | None = None
    previous_branch_id: str | None = None
    previous_revision_id: str | None = None
    events: list[str] = field(default_factory=list)
    differences: list[tuple[str, Any, Any]] = field(default_factory=list)
    read_config: dict[str, Any] | None = field(default=None, repr=False)  # the live config read back (sync.py baseline)
    staged: bool = False  # written through a staging branch (stage, prove, go live)
    warnings: list[str] = field(default_factory=list)  # fields reported instead of written, forms adapted
    # The draft we wrote and have not seen published ({versioning, branch_id, draft_id, draft_revision}),
    # recorded in the state so that a run interrupted before the publish adopts it on the next run.
    open_draft: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent_id,
            "versioning": self.versioning,
            "created": self.created,
            "branch_id": self.branch_id,
            "branch_name": self.branch_name,
            "live": self.live,
            "revision_id": self.revision_id,
            "events": list(self.events),
            "verified": not self.differences,
            "staged": self.staged,
            "warnings": list(self.warnings),
            "differences": [{"path": p, "planned": e, "live": a} for p, e, a in self.differences],
        }


def safe_label(text: str) -> str:
    """Publish labels: ≤200 characters of [A-Za-z0-9 .,_()-] ([3P] §H.21)."""
    return _LABEL_UNSAFE.sub("-", text)[:200]


BRANCHES_ENDPOINT = "GET /agent/{id}/branches"


def list_branches(client: AtomsClient, agent_id: str) -> list[BranchSummary]:
    """The agent's branch summaries (§C.2), parsed: a summary of the wrong shape is a shape error."""
    raw = client.list_branches(agent_id)
    return parse_list(BranchSummary, raw, f"listing branches of agent {agent_id}", BRANCHES_ENDPOINT, "branches")


def live_branch(branches: list[BranchSummary]) -> BranchSummary:
    """The live branch summary; else the default one; else the first (§C.7)."""
    for summary in branches:
        if summary.is_live:
            return summary
    for summary in branches:
        if summary.branch.is_default:
            return summary
    if not branches:
        raise ApiError("Atoms lists no branches for this agent", "Open the agent in the dashboard once, then re-run.")
    return branches[0]


def _branch_named(branches: list[BranchSummary], name: str) -> BranchSummary | None:
    for summary in branches:
        if str(summary.name or "").lower() == name.lower():
            return summary
    return None


def _branch_with_id(branches: list[BranchSummary], branch_id: str) -> BranchSummary | None:
    return next((b for b in branches if b.id == branch_id), None)


def revision_detail(client: AtomsClient, agent_id: str, branch_id: str, revision_id: str) -> RevisionDetail:
    data = client.get_revision(agent_id, branch_id, revision_id)
    endpoint = "GET /agent/{id}/branches/{branchId}/revisions/{revisionId}"
    return parse(RevisionDetail, data, f"reading revision {revision_id}", endpoint)


def version_detail(client: AtomsClient, agent_id: str, version_id: str) -> VersionDetail:
    data = client.get_version(agent_id, version_id)
    return parse(VersionDetail, data, f"reading version {version_id}", "GET /agent/{id}/versions/{versionId}")


def find_by_marker(
    client: AtomsClient, source_key: str, name: str | None = None, aliases: tuple[str, ...] = ()
) -> str | None:
    """The id of a non-archived agent whose description carries this source's marker.

    A name search comes first (one request on a large account; a duplicate-name suffix such
    as " (2)" still matches), then the newest agents page by page. ``aliases`` are older
    keys of the same source (identity.legacy_keys) that an earlier version wrote as markers.
    """
    keys = (source_key, *aliases)
    searches: list[str | None] = [name, None] if name else [None]
    for search in searches:
        for page in range(1, MARKER_SEARCH_PAGES + 1):
            agents, more = client.list_agents(page=page, page_size=100, search=search)
            for agent in agents:
                if any(has_marker(agent.get("description"), k) for k in keys) and not agent.get("archived"):
                    return str(agent.get("_id"))
            if not more:
                break
    return None


def detect_versioning(client: AtomsClient, agent_id: str, preference: str = "auto", known: str | None = None) -> str:
    """v2 when the branch API answers, v1 when it is missing (§C.4); ``known`` (state, or an
    earlier agent of this run: the model is per account) saves the probe."""
    if preference in ("v1", "v2"):
        return preference
    if known in ("v1", "v2"):
        return known
    try:
        client.list_branches(agent_id)
    except VersioningUnavailable:
        return "v1"
    return "v2"


def read_live(
    client: AtomsClient,
    agent_id: str,
    versioning: str,
    branch_name: str | None = None,
    agent_doc: dict[str, Any] | None = None,
    forms: dict[str, str] | None = None,
) -> tuple[dict[str, Any], str | None, str | None, str | None]:
    """(live config in planner shape, branch id, branch name, revision or version id) of the
    branch a plan targets.

    For a staging branch that does not exist yet, that is the live branch it will fork from.
    """
    doc = agent_doc if agent_doc is not None else (client.get_agent(agent_id) or {})
    if versioning == "v1":
        version_id = doc.get("activeVersionId") or doc.get("versionId")
        resolved = version_detail(client, agent_id, str(version_id)).resolved_config if version_id else None
        config = project(live_config(doc, resolved), None, versioning, load_write_forms(), forms)
        return config, None, None, str(version_id) if version_id else None
    branches = list_branches(client, agent_id)
    live = live_branch(branches)
    target = (_branch_named(branches, branch_name) if branch_name else None) or live
    head = target.head
    resolved = revision_detail(client, agent_id, target.id, head).resolved_config if head else None
    if target is not live:
        doc = _agent_level(doc)
    config = project(live_config(doc, resolved), None, versioning, load_write_forms(), forms)
    return config, target.id, target.name, head


def _staging_name(branches: list[BranchSummary], target: Target | None) -> str:
    """A branch name not yet taken: atoms-migrate-staging-<head>, -2, -3 ... (§C.2: names are unique)."""
    head = str((target.revision_id if target else None) or "new")[-8:]
    name, n = f"{STAGING_PREFIX}-{head}", 2
    while _branch_named(branches, name) is not None:
        name, n = f"{STAGING_PREFIX}-{head}-{n}", n + 1
    return name


def _agent_level(doc: dict[str, Any]) -> dict[str, Any]:
    """The agent's mirrors describe the live branch; for another branch keep the agent-level fields (§B.2)."""
    return {k: doc.get(k) for k in ("name", "description", "workflowType", "allowInboundCall")}


def locate(
    client: AtomsClient,
    source_key: str,
    state_agent_id: str | None,
    options: ApplyOptions,
    notes: list[str],
    name: str | None = None,
    known_versioning: str | None = None,
    marker_index: dict[str, str] | None = None,
    aliases: tuple[str, ...] = (),
    forms: dict[str, str] | None = None,
) -> Target | None:
    """The existing Atoms agent for this source (state first, then marker), or None to create.

    A batch passes ``marker_index`` (source key -> agent id, from one listing of the account)
    instead of searching per agent.
    """
    doc = None
    if state_agent_id:
        doc = client.get_agent(state_agent_id)
        if doc is None or doc.get("archived"):
            notes.append(
                f"Atoms agent {state_agent_id} from the state file is "
                f"{'archived' if doc else 'gone'}; looking for another by marker."
            )
            doc = None
    if doc is not None:
        owner = marker_key(doc.get("description"))
        if owner is not None and owner not in (source_key, *aliases):
            # A copied or merged state file: writing would overwrite another source's agent.
            raise ForeignTargetError(
                f"the state entry for {source_key} points at Atoms agent {state_agent_id}, whose marker names "
                f"another source ({owner}); nothing was written",
                "Remove that entry from the state file (or use the state file that migrated this source), then re-run.",
            )
    if doc is None:
        if marker_index is not None:
            agent_id = next((marker_index[k] for k in (source_key, *aliases) if k in marker_index), None)
        else:
            agent_id = find_by_marker(client, source_key, name, aliases)
        if agent_id is None:
            return None
        doc = client.get_agent(agent_id)
        if doc is None:
            return None
        notes.append(f"Found Atoms agent {agent_id} by its marker (no usable state entry); it will be updated.")
    agent_id = str(doc.get("_id") or state_agent_id)
    versioning = detect_versioning(client, agent_id, options.versioning, known_versioning)
    config, branch_id, branch_name, revision_id = read_live(
        client, agent_id, versioning, options.branch_name, doc, forms
    )
    staged = bool(options.branch_name) and (branch_name or "").lower() == str(options.branch_name).lower()
    return Target(agent_id, versioning, config, branch_id, branch_name, live=not staged, revision_id=revision_id)


class Applier:
    """Runs one plan's steps against Atoms."""

    def __init__(
        self,
        client: AtomsClient,
        options: ApplyOptions,
        progress: Callable[[str], None] = lambda _: None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        bindings: Mapping[str, str] | None = None,
        known_versioning: str | None = None,
        own_draft: Mapping[str, Any] | None = None,
        on_draft: Callable[[ApplyResult], None] = lambda _: None,
        forms: dict[str, str] | None = None,
        remember_form: Callable[[str, str], None] | None = None,
        write_forms: WriteForms | None = None,
        pro_voices: frozenset[str] = frozenset(),
    ) -> None:
        self.client, self.options, self.progress, self.sleep, self.clock = client, options, progress, sleep, clock
        # The draft an earlier, interrupted run recorded as its own (state), and the hook that records a new one.
        self.own_draft, self.on_draft = dict(own_draft or {}), on_draft
        self._plan: AgentPlan | None = None
        # The account's write form per uncertain field (state ``write_forms``); ``remember_form`` records a change.
        self.table = write_forms or load_write_forms()
        self.forms: dict[str, str] = dict(forms or {})
        self.remember_form = remember_form or (lambda field, form: None)
        self.pro_voices = pro_voices  # catalog voices of the Pro pool (§K.4)
        self.known_versioning = known_versioning  # the account's model when already known: saves a probe
        self._revision_detail: RevisionDetail | None = None  # the published revision, read while waiting for it
        # Values for the plan's references (refs.py): secrets and ids known only now.
        self.bindings: dict[str, str] = dict(bindings or {})
        self.result: ApplyResult | None = None  # kept when apply fails half-way, so state can record it

    def _event(self, result: ApplyResult, text: str) -> None:
        result.events.append(text)
        self.progress(text)

    # -- entry point -------------------------------------------------------------------------

    @property
    def redact(self) -> Redactor:
        """Hides the secret values among the bindings (read-back values may echo them)."""
        return Redactor(v for k, v in self.bindings.items() if k.startswith("<secret:"))

    def _body(self, step: Step) -> dict[str, Any]:
        """A step's body as sent: references swapped for their values (refs.py)."""
        return self._resolve_body(step.body or {})

    def apply(self, plan: AgentPlan, target: Target | None) -> ApplyResult:
        self.bindings.update(
            {secret_ref(k): v for k, v in plan.secret_values.items() if secret_ref(k) not in self.bindings}
        )
        steps = {s.kind: s for s in plan.steps}
        self._plan = plan
        guessed = False
        if target is None:
            agent_id = self._create(plan, self._body(steps["create"]))
            result = self.result = ApplyResult(agent_id=agent_id, versioning="v2", created=True)
            self._event(result, f"created Atoms agent {agent_id}")
            if self.options.versioning in ("v1", "v2") or self.known_versioning in ("v1", "v2"):
                result.versioning = detect_versioning(
                    self.client, agent_id, self.options.versioning, self.known_versioning
                )
            else:
                guessed = True  # try v2; its first call (listing branches) tells a v1 account before any write
        else:
            result = self.result = ApplyResult(agent_id=target.agent_id, versioning=target.versioning, created=False)
        if "metadata" in steps:
            self.client.update_metadata(result.agent_id, self._body(steps["metadata"]))
            self._event(result, f"updated {', '.join(steps['metadata'].body or {})}")
        if "draft" in steps:
            body = self._body(steps["draft"])
            if result.versioning == "v1":
                try:
                    self._apply_v1(result, body, plan, target)
                except ApiError as exc:
                    if exc.code != MIGRATION_REQUIRED:
                        raise
                    self._event(result, "the account moved to the branch model (409); continuing with v2")
                    result.versioning = "v2"
                    self._apply_v2(result, body, plan, target)
            else:
                try:
                    self._apply_v2(result, body, plan, target)
                except VersioningUnavailable:
                    if not guessed:
                        raise
                    result.versioning = "v1"
                    self._apply_v1(result, body, plan, target)
        else:
            if target is not None:
                result.branch_id, result.branch_name, result.live = target.branch_id, target.branch_name, target.live
            result.differences = self.read_back(plan, result)
        return result

    def read_back(self, plan: AgentPlan, result: ApplyResult) -> list[tuple[str, Any, Any]]:
        """Differences between the plan and what the branch (or version) written now serves."""
        detail = self._revision_detail
        at_revision = self._agent_at_revision(result) if result.versioning == "v2" and result.revision_id else None
        if at_revision is not None:
            # One request: the agent with its config resolved from the revision just published (§B.2 ?versionId).
            config = live_config(
                at_revision
                if result.live
                else {**_agent_level(at_revision), "_resolvedConfig": at_revision["_resolvedConfig"]}
            )
            config = project(config, plan.target_config, result.versioning, self.table, self.forms)
            branch_id, branch_name = result.branch_id, result.branch_name
        elif result.versioning == "v2" and result.revision_id and result.branch_id:
            if detail is None or detail.revision is None or detail.revision.id != result.revision_id:
                detail = revision_detail(self.client, result.agent_id, str(result.branch_id), result.revision_id)
            doc = self.client.get_agent(result.agent_id) or {}
            config = live_config(doc if result.live else _agent_level(doc), detail.resolved_config)
            config = project(config, plan.target_config, result.versioning, self.table, self.forms)
            branch_id, branch_name = result.branch_id, result.branch_name
        else:
            config, branch_id, branch_name, _ = read_live(
                self.client,
                result.agent_id,
                result.versioning,
                result.branch_name if not result.live else None,
                forms=self.forms,
            )
            config = project(config, plan.target_config, result.versioning, self.table, self.forms)
        result.branch_id = result.branch_id or branch_id
        result.branch_name = result.branch_name or branch_name
        result.read_config = config
        return self._compare(plan, result, config)

    def _compare(self, plan: AgentPlan, result: ApplyResult, config: dict[str, Any]) -> list[tuple[str, Any, Any]]:
        skipped = unwritten_paths(result.versioning, self.table, self.forms)
        found = differences(plan.target_config, config)
        return [
            (path, planned, self.redact.value(live))
            for path, planned, live in found
            if not any(path == s or path.startswith(s + ".") or path.startswith(s + "[") for s in skipped)
        ]

    def _agent_at_revision(self, result: ApplyResult) -> dict[str, Any] | None:
        """GET /agent/{id}?versionId=<revision> when this account resolves a v2 revision that way, else None.

        §B.2 documents ``versionId`` (and §C.1 says a v1 versionId equals its revision id), but not
        whether v2 fills ``_resolvedConfig`` for it: probed once per run (``capabilities``), and
        used only when the answer says ``_configSource: "version"``.
        """
        caps = self.client.capabilities
        if caps.get("agent_at_revision") is False:
            return None
        doc = self.client.get_agent_at(result.agent_id, version_id=str(result.revision_id))
        works = (
            doc is not None and doc.get("_configSource") == "version" and isinstance(doc.get("_resolvedConfig"), dict)
        )
        caps["agent_at_revision"] = works
        return doc if works else None

    def restore(self, result: ApplyResult, revision_id: str) -> str:
        """Put ``revision_id`` back live (rollback); returns the revision now serving."""
        if result.versioning == "v1":
            self.client.activate_version(result.agent_id, revision_id)
            return revision_id
        branch_id = str(result.previous_branch_id or result.branch_id)
        summary = _branch_with_id(list_branches(self.client, result.agent_id), branch_id)
        if summary is not None and not summary.is_live and summary.head == revision_id:
            # A staged update went live on its own branch: the branch that was live before still
            # holds the previous revision untouched, so making it live again is the rollback.
            self.client.make_live(result.agent_id, branch_id)
            result.branch_id, result.live = branch_id, True
            return revision_id
        result.branch_id = branch_id
        baseline = self._newest_revision(result.agent_id, branch_id)
        publish = self.client.restore_revision(result.agent_id, branch_id, revision_id)
        return self._await_revision(result, baseline, publish)

    # -- create --------------------------------------------------------------------------------

    def _create(self, plan: AgentPlan, body: dict[str, Any]) -> str:
        for attempt in (1, 2):
            try:
                return self.client.create_agent(body)
            except AmbiguousWriteError:
                # §H.15: the create may have committed; look before creating again.
                self.progress("the create answered ambiguously; looking for the agent by its marker")
                found = find_by_marker(self.client, plan.source.key, plan.target_config.get("name"))
                if found:
                    self.progress(f"the create had committed: using Atoms agent {found}")
                    return found
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    # -- v2 ------------------------------------------------------------------------------------

    def _stages(self, target: Target | None) -> bool:
        """Stage, prove, go live: for an agent already live (something may be calling it), unless --direct."""
        return target is not None and target.live and not self.options.branch_name and not self.options.direct

    def _apply_v2(self, result: ApplyResult, body: dict[str, Any], plan: AgentPlan, target: Target | None) -> None:
        client, agent_id = self.client, result.agent_id
        branches = list_branches(client, agent_id)
        live = live_branch(branches)
        if (
            target is not None
            and target.live
            and target.branch_id
            and (live.id != target.branch_id or live.head != target.revision_id)
        ):
            # §K.1: a published edit does not show in expectedRevision; compare the live head we planned against.
            raise ConcurrentEdit(
                f"the live branch of Atoms agent {agent_id} moved since the plan was made "
                f"(head {target.revision_id} -> {live.head}); nothing was written",
                "Re-run: the plan is made again against the new live config.",
            )
        if not self._wire(result, body, plan):
            # Every changed field is one this account does not take (writeforms): nothing to write.
            result.branch_id, result.branch_name = live.id, live.name
            result.differences = self.read_back(plan, result)
            return
        staging = self._stages(target)
        if self.options.branch_name:
            branch = _branch_named(branches, self.options.branch_name) or self._fork(
                result, live, self.options.branch_name
            )
        elif staging:
            if live.has_open_draft:
                result.branch_name = live.name
                why = self._own_v2_draft(agent_id, live.id, live, body, live_branch=True)
                if why:  # an interrupted run's draft: the staged update supersedes it
                    client.discard_draft(agent_id, live.id)
                    self._event(
                        result,
                        f"discarded our own open draft from an interrupted run on branch "
                        f"{result.branch_name!r} ({why}); the update is staged instead",
                    )
                elif not self.options.force:
                    self._foreign_draft(result, lambda: None)  # raises: someone is editing the live branch
                else:
                    self._event(
                        result,
                        f"--force: the open draft on branch {result.branch_name!r} is left as it is "
                        "(not published); the migration is staged on its own branch",
                    )
            branch = self._fork(result, live, _staging_name(branches, target))
            result.staged = True
        else:
            branch = live
        branch_id = branch.id
        result.branch_id, result.branch_name = branch_id, branch.name
        result.live = branch is live and live.is_live
        result.previous_branch_id, result.previous_revision_id = live.id, live.head
        expected: int | None = 0
        if branch.has_open_draft:
            why = self._own_v2_draft(agent_id, branch_id, branch, body, live_branch=branch is live)
            if why:
                self._event(result, f"adopted our own open draft from an interrupted run ({why})")
                expected = None  # written onto our own draft: its revision is not ours to guess
            else:
                self._foreign_draft(result, lambda: client.discard_draft(agent_id, branch_id))
        self.write_and_publish(result, body, plan, branch.head, expected=expected)
        result.differences = self.read_back(plan, result)
        self._adapt(result, plan, lambda wire: self.write_and_publish(result, wire, plan, result.revision_id, raw=True))
        if staging:
            self._go_live(result, live)
        elif not self.options.branch_name and not live.is_live:
            client.make_live(agent_id, branch_id)
            result.live = True
            self._event(result, f"made branch {result.branch_name!r} live")

    def write_and_publish(
        self,
        result: ApplyResult,
        body: dict[str, Any],
        plan: AgentPlan,
        baseline: str | None,
        raw: bool = False,
        expected: int | None = 0,
    ) -> None:
        """PUT the draft with ``expectedRevision`` (§K.1), publish, wait for the revision."""
        client, agent_id, branch_id = self.client, result.agent_id, str(result.branch_id)
        wire = body if raw else self._wire(result, body, plan)
        # We never write onto someone's open draft (refused or discarded first), so our edit is
        # based on no draft edits: 0. Anyone who opens one in between makes this a 409. Onto our
        # own adopted draft (an interrupted run) ``expected`` is None: last-write-wins.
        written = Revision()
        try:
            answer = client.put_draft(agent_id, branch_id, wire, expected_revision=expected)
            written = parse(Revision, answer, "writing the draft", "PUT /agent/{id}/branches/{branchId}/draft")
        except DraftConflictError as exc:
            if exc.diffs and all(d.get("path") in wire and d.get("newValue") == wire[d["path"]] for d in exc.diffs):
                # Our own write landed on an attempt whose answer was lost, and the retry met it (§C.8).
                self.progress("the draft write had already landed on an earlier attempt")
            elif not exc.base_unavailable:
                raise ConcurrentEdit(exc.message, exc.hint, exc.fields) from exc
            else:
                self._rewrite_without_base(result, wire, baseline)
        self._event(result, f"wrote the draft on branch {result.branch_name!r} ({len(wire)} field(s))")
        self._record_draft(result, written)
        result.revision_id = self._publish_v2(result, baseline)
        result.open_draft = None
        self._event(result, f"published revision {result.revision_id}")

    def _rewrite_without_base(self, result: ApplyResult, wire: dict[str, Any], baseline: str | None) -> None:
        """§C.8 ``base_revision_unavailable``: last-write-wins is safe only when nothing moved meanwhile."""
        client, agent_id, branch_id = self.client, result.agent_id, str(result.branch_id)
        summary = _branch_with_id(list_branches(client, agent_id), branch_id) or BranchSummary()
        if summary.has_open_draft or summary.head != baseline:
            raise ConcurrentEdit(
                f"branch {result.branch_name!r} moved while atoms-migrate was writing it; nothing was overwritten",
                "Re-run: the plan is made again against it.",
            )
        self.progress("Atoms did not know the draft revision we read, and nothing moved; writing without it")
        client.put_draft(agent_id, branch_id, wire)

    def _wire(self, result: ApplyResult, body: dict[str, Any], plan: AgentPlan) -> dict[str, Any]:
        wire, notes = wire_body(result.versioning, body, plan.target_config, self.table, self.forms, self.pro_voices)
        for note in notes:
            if note not in result.warnings:
                result.warnings.append(note)
                self._event(result, note)
        return wire

    def _adapt(self, result: ApplyResult, plan: AgentPlan, write: Callable[[dict[str, Any]], None]) -> None:
        """Fields whose write form is unproven and that did not stick: their next form, once each (writeforms)."""
        if result.versioning != "v2":
            return
        tried: set[str] = set()
        while result.differences:
            rows = {row.field: row for p, _, _ in result.differences if (row := self.table.for_path(p)) is not None}
            rows = {
                k: v
                for k, v in rows.items()
                if k not in tried and (not v.only_pro_voices or is_pro(plan.target_config, self.pro_voices))
            }
            if not rows:
                return
            body: dict[str, Any] = {}
            for name, row in rows.items():
                tried.add(name)
                current = chosen(self.table, self.forms, name)
                following = next_form(self.table, name, current.name)
                if following is None:
                    continue
                self.forms[name] = following.name
                self.remember_form(name, following.name)
                note = (
                    f"{row.field} written via {following.name} on this account: {current.name} was not kept"
                    if following.write
                    else f"{row.field}: {current.name} was not kept on this account; "
                    f"reported instead of written ({row.reference})"
                )
                result.warnings.append(note)
                self._event(result, note)
                top = str(paths.parse_path(row.path)[0])
                if top in plan.target_config and following.write is not None:
                    body[top] = plan.target_config[top]
            if body:
                wire = self._wire(result, self._resolve_body(body), plan)
                if wire:
                    write(wire)
            result.differences = self.read_back(plan, result)

    def _resolve_body(self, body: dict[str, Any]) -> dict[str, Any]:
        resolved: dict[str, Any] = resolve(body, self.bindings)  # refs.resolve keeps the shape: a dict stays one
        return resolved

    def _go_live(self, result: ApplyResult, live: BranchSummary) -> None:
        """The proven staging branch goes live, unless the read-back differs or the live branch moved."""
        client, agent_id = self.client, result.agent_id
        if result.differences:
            result.live = False
            self._event(
                result,
                f"the staged revision differs from the plan in {len(result.differences)} field(s): "
                f"the live branch was left untouched; staging branch {result.branch_name!r} is kept "
                "for inspection (promote can still make it live)",
            )
            return
        now = _branch_with_id(list_branches(client, agent_id), live.id) or BranchSummary()
        if not now.is_live or now.head != live.head or (now.has_open_draft and not live.has_open_draft):
            result.live = False
            raise ConcurrentEdit(
                f"the live branch of Atoms agent {agent_id} changed while the migration was staged "
                f"(staging branch {result.branch_name!r} kept, not made live)",
                "Look at the change in the Atoms dashboard, then re-run, or promote the staging branch.",
            )
        client.make_live(agent_id, str(result.branch_id))
        result.live = True
        self._event(result, f"proved the staged revision equal to the plan; made branch {result.branch_name!r} live")
        self._archive_superseded(result, keep={live.id, str(result.branch_id)})

    def _archive_superseded(self, result: ApplyResult, keep: set[str]) -> None:
        """Earlier staging branches of ours are superseded once a newer one is live; the branch that
        was live before this run stays (rollback makes it live again). Best effort: never fails the run."""
        for summary in list_branches(self.client, result.agent_id):
            name = summary.name or ""
            if name.startswith(STAGING_PREFIX) and summary.id not in keep and not summary.is_live:
                try:
                    self.client.archive_branch(result.agent_id, summary.id)
                    self._event(result, f"archived superseded staging branch {name!r}")
                except ApiError as exc:
                    self.progress(f"staging branch {name!r} was left in place: {exc.message}")

    def _fork(self, result: ApplyResult, live: BranchSummary, name: str) -> BranchSummary:
        deadline = self.clock() + self.options.publish_timeout
        while True:
            try:
                self.client.create_branch(result.agent_id, live.id, name)
                break
            except ApiError as exc:
                if exc.code != "source_scanning" or self.clock() > deadline:
                    raise
                self.sleep(self.options.poll_interval)
        self._event(result, f"created branch {name!r} from {live.name!r}")
        created = _branch_named(list_branches(self.client, result.agent_id), name)
        if created is None:
            raise ApiError(f"Atoms created branch {name!r} but does not list it")
        return created

    # -- drafts of an interrupted run ------------------------------------------------------------

    def _record_draft(self, result: ApplyResult, written: Revision) -> None:
        """Remember the draft just written (state, through ``on_draft``) until its publish is seen."""
        draft_id = written.draft_ref
        result.open_draft = {
            "versioning": result.versioning,
            "branch_id": result.branch_id,
            "draft_id": str(draft_id) if draft_id else None,
            "draft_revision": written.draft_revision,
        }
        self.on_draft(result)

    def _own_v2_draft(
        self, agent_id: str, branch_id: str, summary: BranchSummary, body: dict[str, Any], live_branch: bool
    ) -> str | None:
        """Why the open draft on this branch is ours (None when that cannot be shown: it is then someone else's).

        Ours when the state recorded it as the draft we wrote (same draft id, no edit since:
        same ``draftRevision``), or when its content is exactly what we plan to write: every
        field we write already has our value and no other field differs from the live config.
        """
        draft_id = summary.branch.open_draft_id
        mine = self.own_draft
        if mine.get("draft_id") and mine.get("branch_id") == branch_id and mine.get("draft_id") == draft_id:
            detail = self.client.get_branch_draft(agent_id, branch_id)
            latest = detail.latest if detail is not None else Revision()
            if latest.draft_revision == mine.get("draft_revision"):
                return "the state recorded it as ours and nobody edited it since"
        if not draft_id or not live_branch or self._plan is None:
            return None
        drafted = self.client.get_agent_at(agent_id, draft_id=str(draft_id))
        if (
            not drafted
            or drafted.get("_configSource") != "draft"
            or not isinstance(drafted.get("_resolvedConfig"), dict)
        ):
            return None  # Atoms did not show the draft's content: it cannot be proven ours
        now = live_config(self.client.get_agent(agent_id) or {})
        then = live_config(drafted)
        planned = {k: self._plan.target_config[k] for k in body if k in self._plan.target_config}
        if differences(planned, then):
            return None
        others = set(then) | set(now)
        if any(then.get(k) != now.get(k) for k in others - set(body)):
            return None
        return "its content equals the plan"

    def _foreign_draft(self, result: ApplyResult, discard: Callable[[], None]) -> None:
        where = f"branch {result.branch_name!r}" if result.branch_name else "the agent"
        if not self.options.force:
            raise DraftOpenError(
                f"{where} of Atoms agent {result.agent_id} has an open draft with unpublished edits; "
                "publishing would put them live too",
                "Publish or discard that draft in the Atoms dashboard, or re-run with --force to discard it.",
            )
        discard()
        self._event(result, f"--force: discarded the open draft on {where}")

    def _newest_revision(self, agent_id: str, branch_id: str) -> str | None:
        revisions = self.client.list_revisions(agent_id, branch_id, limit=1)
        return str(revisions[0].id) if revisions else None

    def _publish_v2(self, result: ApplyResult, baseline: str | None) -> str:
        client, agent_id, branch_id = self.client, result.agent_id, str(result.branch_id)
        deadline = self.clock() + self.options.publish_timeout
        publish: PublishResult | None = None
        ambiguous = 0
        while publish is None:
            try:
                publish = client.publish_draft(agent_id, branch_id, safe_label(self.options.label))
            except AmbiguousWriteError:
                ambiguous += 1
                summary = _branch_with_id(list_branches(client, agent_id), branch_id) or BranchSummary()
                if summary.has_open_draft:
                    if ambiguous > 2:
                        raise
                    self.progress("the publish answered ambiguously and the draft is still open; publishing again")
                    continue
                self.progress("the publish answered ambiguously but the draft was taken; waiting for the revision")
                publish = PublishResult(state="scanning")
            except ApiError as exc:
                if exc.code != PUBLISH_IN_PROGRESS or self.clock() > deadline:
                    raise
                self.progress("another publish is in progress on this branch; waiting")
                self.sleep(self.options.poll_interval)
        return self._await_revision(result, baseline, publish)

    def _await_revision(self, result: ApplyResult, baseline: str | None, publish: PublishResult) -> str:
        """The id of the revision a publish or restore produced, once committed (§H.3)."""
        client, agent_id, branch_id = self.client, result.agent_id, str(result.branch_id)
        deadline = self.clock() + self.options.publish_timeout
        if publish.committed_id:
            return publish.committed_id
        self.progress("publish accepted; waiting for the security scan")
        while True:
            revisions = client.list_revisions(agent_id, branch_id, limit=1)
            rev = revisions[0] if revisions else Revision()
            newest = rev.id or None
            if newest and newest != baseline:
                done = rev.state in COMMITTED or rev.security_check.state in FAILED
                if not done:
                    # The listing does not show it finished (or carries no state): read the revision itself,
                    # which also brings its resolved config for the read-back.
                    detail = revision_detail(client, agent_id, branch_id, newest)
                    self._revision_detail = detail
                    rev = detail.revision or Revision()
                check = rev.security_check
                if check.state in FAILED:
                    self._discard_after_failed_scan(agent_id, branch_id)
                    raise SecurityScanFailed(
                        f"Atoms' security scan rejected revision {newest}: {check.reason or 'no reason given'}",
                        "Nothing went live. Edit the prompt in the source (or the mapping) and re-run.",
                    )
                if rev.state in COMMITTED:
                    return newest
            if self.clock() > deadline:
                raise PublishTimeout(
                    f"the publish on Atoms agent {agent_id} did not finish within {self.options.publish_timeout:.0f} s",
                    "The scan may still pass: re-run later (it is safe), or raise --publish-timeout.",
                )
            self.sleep(self.options.poll_interval)

    def _discard_after_failed_scan(self, agent_id: str, branch_id: str) -> None:
        try:
            self.client.discard_draft(agent_id, branch_id)
        except ApiError:
            pass  # the draft may already be gone; the scan failure is the error to report

    # -- v1 ------------------------------------------------------------------------------------

    def _our_v1_drafts(self, agent_id: str) -> list[str]:
        """Open drafts named by us: there were none before we opened ours (others are refused or discarded first)."""
        return [
            str(d.draft_ref) for d in self.client.list_drafts(agent_id) if d.draft_name == V1_DRAFT_NAME and d.draft_ref
        ]

    def _open_v1_draft(self, agent_id: str, active: str) -> str:
        """POST /drafts (§B.7); after an ambiguous answer, look for the draft it may have made before asking again."""
        for attempt in range(1, AMBIGUOUS_WRITE_ATTEMPTS + 1):
            try:
                return self.client.create_draft(agent_id, active)
            except AmbiguousWriteError:
                ours = self._our_v1_drafts(agent_id)
                if ours:
                    self.progress("opening the draft answered ambiguously; it was made, so it is used")
                    return ours[0]
                if attempt == AMBIGUOUS_WRITE_ATTEMPTS:
                    raise
                self.progress("opening the draft answered ambiguously and no draft was made; opening it again")
        raise AssertionError("unreachable")  # the loop returns or raises

    def _publish_v1(self, agent_id: str, draft_id: str, previous: str) -> str:
        """POST /drafts/{id}/publish (§B.7); an ambiguous answer is checked: is the draft gone, which version is new?"""
        deadline = self.clock() + self.options.publish_timeout
        ambiguous = 0
        while True:
            try:
                return self.client.publish_v1(
                    agent_id, draft_id, safe_label(self.options.label), "Published by atoms-migrate"
                )
            except AmbiguousWriteError:
                ambiguous += 1
                if draft_id in self._our_v1_drafts(agent_id):
                    if ambiguous >= AMBIGUOUS_WRITE_ATTEMPTS:
                        raise
                    self.progress("the publish answered ambiguously and the draft is still open; publishing again")
                    continue
                newest = self.client.list_versions(agent_id, limit=1)
                version_id = str(newest[0].id or "") if newest else ""
                if not version_id or version_id == previous:
                    raise
                self.progress("the publish answered ambiguously but the draft was taken; using the new version")
                return version_id
            except ApiError as exc:
                if exc.code != PUBLISH_IN_PROGRESS or self.clock() > deadline:
                    raise
                self.progress("another publish is in progress on this agent; waiting")
                self.sleep(self.options.poll_interval)

    def _apply_v1(self, result: ApplyResult, body: dict[str, Any], plan: AgentPlan, target: Target | None) -> None:
        client, agent_id = self.client, result.agent_id
        if self.options.branch_name:
            raise MigrationError(
                "--branch needs the v2 branch model, and this Atoms account is on v1 drafts",
                "Apply without --branch; v1 drafts go live when activated.",
            )
        open_drafts = client.list_drafts(agent_id)  # first: on a v2 account this is the 409 that switches
        doc = client.get_agent(agent_id) or {}
        active = doc.get("activeVersionId") or doc.get("versionId")
        if not active:
            raise ApiError(
                f"Atoms agent {agent_id} has no active version to draft from",
                "Check the agent in the Atoms dashboard, or re-run with --versioning v2.",
            )
        if target is not None and target.revision_id and str(active) != target.revision_id:
            raise ConcurrentEdit(
                f"the active version of Atoms agent {agent_id} changed since the plan was made "
                f"({target.revision_id} -> {active}); nothing was written",
                "Re-run: the plan is made again against the new live config.",
            )
        result.previous_revision_id = str(active)
        if open_drafts:

            def discard() -> None:
                for draft in open_drafts:
                    client.discard_v1_draft(agent_id, str(draft.draft_ref))

            ids = {str(d.draft_ref) for d in open_drafts}
            if self.own_draft.get("versioning") == "v1" and ids == {self.own_draft.get("draft_id")}:
                discard()  # our own draft from an interrupted run: rewritten below from the plan
                self._event(result, "discarded our own open draft from an interrupted run; writing it again")
            else:
                self._foreign_draft(result, discard)
        wire = self._wire(result, body, plan)
        draft_id = self._open_v1_draft(agent_id, str(active))
        self._record_draft(result, Revision(draft_id=draft_id))
        client.patch_draft_config(agent_id, draft_id, wire)
        self._event(result, f"wrote draft {draft_id} ({len(wire)} field(s))")
        version_id = self._publish_v1(agent_id, draft_id, str(active))
        result.open_draft = None
        self._event(result, f"published version {version_id}; waiting for the security check")
        deadline = self.clock() + self.options.publish_timeout
        while True:
            detail = version_detail(client, agent_id, version_id)
            check = detail.version.security_check
            status = check.state
            if status in FAILED:
                raise SecurityScanFailed(
                    f"Atoms' security check rejected version {version_id}: {check.reason or 'no reason given'}",
                    "Nothing went live. Edit the prompt in the source (or the mapping) and re-run.",
                )
            if status in PASSED:
                break
            if self.clock() > deadline:
                raise PublishTimeout(
                    f"the security check of version {version_id} did not finish in time",
                    "Re-run later (it is safe), or raise --publish-timeout.",
                )
            self.sleep(self.options.poll_interval)
        result.revision_id = version_id
        if self._stages(target):
            # Prove before activating: the published version's own config, not the live one (§B.9).
            config = project(
                live_config(_agent_level(doc), detail.resolved_config),
                plan.target_config,
                "v1",
                self.table,
                self.forms,
            )
            result.staged = True
            result.differences = self._compare(plan, result, config)
            if result.differences:
                result.live = False
                self._event(
                    result,
                    f"version {version_id} differs from the plan in {len(result.differences)} field(s): "
                    "it was not activated; the live version is untouched",
                )
                return
        client.activate_version(agent_id, version_id)  # §H.2: publish's `activate` is ignored
        result.live = True
        self._event(result, f"activated version {version_id}")
        result.differences = self.read_back(plan, result)
