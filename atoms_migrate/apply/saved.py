"""Saved plans: what ``--out plan.json`` writes and what ``apply plan.json`` checks first.

Like ``terraform plan -out`` (peer-conventions §3.1): a saved plan is applied exactly or
not at all. Each agent entry carries the hash of its source config and the id of the
target's live revision (or active version) it was planned against, plus the plan itself
with its write steps. Before writing, ``apply`` reads the source and the target again,
plans again with the saved settings, and refuses an agent whose source changed, whose
target changed (another revision went live, the agent appeared or vanished), or whose plan
would now differ (mapping tables, options or state changed); it says which. Secrets are
never in the file: the steps hold ``<secret:NAME>`` references, supplied again at apply.

The file's shape is the ``SavedPlan`` model, both ways: ``saved_plan`` builds it from the plans and
``write`` dumps it; ``load`` validates it and hands it back, and ``plan_again`` does the part of
``apply PLAN`` before the post-plan flow (``apply.flow``).
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from atoms_migrate import __version__
from atoms_migrate.apply import flow
from atoms_migrate.apply.run import Planned, Run, RunConfig
from atoms_migrate.apply.state import tables_hash as current_tables_hash
from atoms_migrate.errors import ConfigError
from atoms_migrate.fileio import write_text_atomic
from atoms_migrate.model import StepKind
from atoms_migrate.source.bounds import InputTooLarge, check_file
from atoms_migrate.source.select import SourceSpec
from atoms_migrate.validation import EXPECTED, json_path

if TYPE_CHECKING:
    from atoms_migrate.mapping.webhooks import ToolOptions

KIND = "atoms-migrate-saved-plan"
FORMAT_VERSION = "1"


# An id that is one plain URL path segment: no "/", ".", "%", "?" or spaces, so it can never
# reach another endpoint (ElevenLabs `agent_…` and older 20-character ids, Atoms 24-hex ObjectIds).
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
AGENT_FILE_SUFFIXES = (".json", ".yaml", ".yml")
REPLAN_HINT = "The saved plan is damaged or edited by hand: plan again with --dry-run --out."


def _safe_id(value: str | None) -> str | None:
    if value is not None and not SAFE_ID.match(value):
        raise ValueError(f"{value[:60]!r} is not an agent id (letters, digits, '_' and '-' only)")
    return value


class _Ours(BaseModel):
    """Our own file: every key is known, so an unknown one is a typo, an edit or a newer format."""

    model_config = ConfigDict(extra="forbid")


class SavedSource(_Ours):
    """How ``apply`` finds the source again, and the hash of the config that was planned."""

    kind: Literal["id", "file"]
    ref: str
    agent_id: str | None = None
    key: str
    hash: str

    @field_validator("agent_id")
    @classmethod
    def _id(cls, v: str | None) -> str | None:
        return _safe_id(v)

    @classmethod
    def of(cls, source_ref: dict[str, str], planned: Planned) -> SavedSource:
        """``source_ref`` (kind, ref and a known agent_id) with the key and hash of the config planned."""
        return cls.model_validate({**source_ref, "key": planned.source.key, "hash": planned.source_hash})


class SavedTarget(_Ours):
    """The Atoms agent planned against and its live revision (or active version) then."""

    agent_id: str | None = None
    versioning: Literal["v1", "v2"] | None = None
    revision_id: str | None = None

    @field_validator("agent_id", "revision_id")
    @classmethod
    def _ids(cls, v: str | None) -> str | None:
        return _safe_id(v)

    @classmethod
    def of(cls, planned: Planned) -> SavedTarget:
        target = planned.target
        return cls.model_validate(
            {
                "agent_id": target.agent_id if target else None,
                "versioning": target.versioning if target else None,
                "revision_id": planned.target_revision,
            }
        )


class SavedPlanSource(_Ours):
    """``AgentPlan.to_dict()["source"]``."""

    key: str
    agent_id: str | None = None
    name: str | None = None
    path: str | None = None
    shape: str | None = None
    notes: list[str] = []


class SavedStep(_Ours):
    """One write of the plan (``Step.to_dict()``), compared with the steps planned again at apply."""

    kind: StepKind
    summary: str = ""
    body: dict[str, Any] | None = None


class SavedAgentPlan(_Ours):
    """``AgentPlan.to_dict()``: the plan JSON of one agent (format_version 1). Configs and reports stay data."""

    source: SavedPlanSource
    action: Literal["create", "update", "no-op"] | None = None
    target: dict[str, Any] = {}
    changes: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    steps: list[SavedStep] = []
    tool_parity: list[dict[str, Any]] = []
    # Three-way sync (added later; older plans have none of these).
    sync: str | None = None
    resolution: Any = None
    target_edits: list[dict[str, Any]] = []
    pending_changes: list[dict[str, Any]] = []


class SavedAgent(_Ours):
    """One agent of the file: where its source is, what it was planned against, and its plan."""

    source: SavedSource
    target: SavedTarget
    plan: SavedAgentPlan

    @classmethod
    def of(cls, source_ref: dict[str, str], planned: Planned) -> SavedAgent:
        return cls(
            source=SavedSource.of(source_ref, planned),
            target=SavedTarget.of(planned),
            plan=SavedAgentPlan.model_validate(planned.plan.to_dict()),
        )

    def spec(self) -> SourceSpec:
        """The source to read again, named as it was planned."""
        return SourceSpec(self.source.ref, self.source.kind, self.plan.source.name or "", agent_id=self.source.agent_id)


class RunOptions(TypedDict):
    """The options of a run a saved plan fixes: the keyword arguments of the CLI's ``run_config``."""

    set_values: list[str]
    clone_voices: bool
    branch: str | None
    force: bool
    versioning: str
    publish_timeout: float
    direct: bool
    on_drift: str
    on_conflict: str
    merge: bool


class SavedSettings(_Ours):
    """The options the plan was made with (no secret values: those are given again); keys added later
    default as the CLI does."""

    set: dict[str, str] = {}
    secret_names: list[str] = []
    clone_voices: bool = False
    branch: str | None = None
    force: bool = False
    versioning: Literal["auto", "v1", "v2"] = "auto"
    publish_timeout: float = 120.0
    direct: bool = False
    on_drift: Literal["keep", "overwrite"] = "keep"
    on_conflict: Literal["fail", "source", "target"] = "fail"
    merge: bool = False

    @field_validator("publish_timeout")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v) or v <= 0:
            raise ValueError("must be a positive number of seconds")
        return v

    @classmethod
    def from_config(cls, config: RunConfig) -> SavedSettings:
        """What a saved plan must be applied with, from the run that made it."""
        return cls.model_validate(
            {
                "set": dict(config.tool_options.values),
                "secret_names": sorted(config.tool_options.secret_names),
                "clone_voices": config.clone_voices,
                "branch": config.branch,
                "force": config.force,
                "versioning": config.versioning,
                "publish_timeout": config.publish_timeout,
                "direct": config.direct,
                "on_drift": config.sync.on_drift,
                "on_conflict": config.sync.on_conflict,
                "merge": config.sync.merge,
            }
        )

    def run_options(self) -> RunOptions:
        """The options to apply the plan with, as the run that made it had them."""
        return RunOptions(
            set_values=[f"{k}={v}" for k, v in self.set.items()],
            clone_voices=self.clone_voices,
            branch=self.branch,
            force=self.force,
            versioning=self.versioning,
            publish_timeout=self.publish_timeout,
            direct=self.direct,
            on_drift=self.on_drift,
            on_conflict=self.on_conflict,
            merge=self.merge,
        )

    def check_secrets(self, options: ToolOptions) -> None:
        """Every secret the plan was made with is given again, else nothing is sent."""
        missing = sorted(n for n in self.secret_names if not options.has_secret(n))
        if missing:
            raise ConfigError(
                f"the plan was made with secrets that are not given now: {', '.join(missing)}",
                "Pass each again with --secret NAME=VALUE (or ATOMS_MIGRATE_SECRET_<NAME>).",
            )


class SavedPlan(_Ours):
    """The whole file ``--out plan.json`` writes: one model validates it before anything is sent."""

    kind: Literal["atoms-migrate-saved-plan"]
    format_version: str
    created_by: str | None = None
    created_at: str | None = None
    tables_hash: str
    settings: SavedSettings = SavedSettings()
    agents: list[SavedAgent]

    def document(self) -> dict[str, Any]:
        """The JSON document: the keys that were read or written, in the order ``--out`` writes them."""
        return self.model_dump(by_alias=True, exclude_unset=True)


def saved_plan(entries: list[tuple[dict[str, str], Planned]], tables_hash: str, settings: SavedSettings) -> SavedPlan:
    """The document for ``--out``: ``entries`` pairs how to find each source again with its plan.

    Built through the models that ``load`` validates with, so a plan that could not be loaded back is
    refused here, before the file is written, rather than at ``apply``."""
    try:
        agents = [SavedAgent.of(source_ref, planned) for source_ref, planned in entries]
    except ValidationError as exc:
        raise ConfigError(
            f"the plan cannot be saved: {_problem(exc.errors()[0])}; nothing was written",
            "Check the agent ids of the sources (letters, digits, '_' and '-' only).",
        ) from None
    return SavedPlan.model_validate(
        {
            "kind": KIND,
            "format_version": FORMAT_VERSION,
            "created_by": f"atoms-migrate {__version__}",
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "tables_hash": tables_hash,
            "settings": settings,
            "agents": agents,
        }
    )


def write(path: Path, plan: SavedPlan) -> None:
    """Atomically (``fileio``): an interrupted ``--out`` leaves the previous plan, never half of one."""
    try:
        write_text_atomic(path, json.dumps(plan.document(), indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise ConfigError(f"cannot write the plan to {path}: {exc.strerror}") from exc


def _problem(err: Any) -> str:
    """One validation error in words: the path of the bad field, then what is wrong with it."""
    where, kind = json_path(err["loc"]) or "the document", err["type"]
    if kind == "missing":
        return f"{where} is missing"
    if kind == "extra_forbidden":
        return f"{where} is not a field of a saved plan (format {FORMAT_VERSION})"
    if kind == "literal_error":
        return f"{where} must be {str(err['ctx']['expected']).replace(chr(39), '')}"
    if kind in EXPECTED:
        return f"{where} must be {EXPECTED[kind]}"
    return f"{where}: {str(err['msg']).removeprefix('Value error, ')}"


def validate(path: Path, doc: dict[str, Any]) -> SavedPlan:
    """``doc`` as a ``SavedPlan``, else one ``ConfigError`` naming the first bad field and a hint."""
    try:
        return SavedPlan.model_validate(doc)
    except ValidationError as exc:
        errors = exc.errors()
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ConfigError(
            f"{path} is not a valid saved plan: {_problem(errors[0])}{more}; nothing was sent", REPLAN_HINT
        ) from None


def _outside(ref: str, roots: list[Path]) -> bool:
    try:
        resolved = Path(ref).resolve()
    except (OSError, RuntimeError, ValueError):
        return True
    return not any(resolved == root or resolved.is_relative_to(root) for root in roots)


def check_sources(plan: SavedPlan, plan_path: Path, project: Path | None = None) -> None:
    """Every source the plan names is safe to read again before any request is sent.

    Ids must be single URL path segments (a tampered ``../../v1/user`` would send the API key
    elsewhere); files must be agent files inside the project, after following links: the project
    the state file belongs to when known, else the working directory or the plan's folder.
    """
    roots = [p.resolve() for p in ([project] if project else [Path.cwd(), plan_path.parent])]
    for i, agent in enumerate(plan.agents):
        src = agent.source
        where = f"{plan_path}: agents[{i}].source"
        if src.kind == "id":
            if not SAFE_ID.match(src.ref):
                raise ConfigError(
                    f"{where}.ref {src.ref[:60]!r} is not an ElevenLabs agent id; nothing was sent",
                    "The plan was edited by hand or damaged: plan again with --dry-run --out.",
                )
            if src.agent_id not in (None, src.ref):
                raise ConfigError(
                    f"{where}: agent_id {src.agent_id!r} does not match ref {src.ref!r}; nothing was sent",
                    "The plan was edited by hand or damaged: plan again with --dry-run --out.",
                )
        elif not src.ref.lower().endswith(AGENT_FILE_SUFFIXES) or _outside(src.ref, roots):
            raise ConfigError(
                f"{where}.ref {src.ref[:120]!r} is not an agent file inside the project: it is not "
                f"JSON/YAML or lies outside the project ({', '.join(str(r) for r in roots)}); "
                "nothing was read or sent",
                "Apply the plan from the folder it was made in; plan again if it was edited.",
            )


def load(path: Path, project: Path | None = None) -> SavedPlan:
    """The saved plan at ``path``, validated (``SavedPlan``: shape, ids; then source files) before anything
    is sent."""
    try:
        check_file(path)  # a FIFO or device would block or never end
        doc = json.loads(path.read_text(encoding="utf-8"))
    except InputTooLarge as exc:
        raise ConfigError(f"{path} {exc}", "Make one with --dry-run --out plan.json.") from None
    except RecursionError:
        raise ConfigError(
            f"{path} is nested too deeply to be a saved plan", "Make one with --dry-run --out plan.json."
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{path} cannot be read as a saved plan: {exc}", "Make one with --dry-run --out plan.json."
        ) from exc
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise ConfigError(f"{path} is not a saved atoms-migrate plan", "Make one with --dry-run --out plan.json.")
    # The version first: a plan of another format is refused as such, not as a list of unknown fields.
    major = str(doc.get("format_version", "")).split(".")[0]
    if major != FORMAT_VERSION:
        raise ConfigError(
            f"{path} has plan format {doc.get('format_version')!r}; this version reads {FORMAT_VERSION}",
            "Plan again with this version of atoms-migrate.",
        )
    plan = validate(path, doc)
    if not plan.agents:
        raise ConfigError(f"{path} holds no agents, so there is nothing to apply", "Plan again with --dry-run --out.")
    check_sources(plan, path, project)
    return plan


def _comparable_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in step.items() if k != "summary"} for step in steps]


def refusal(entry: SavedAgent, planned: Planned, tables_hash: str, saved_tables_hash: str) -> str | None:
    """Why ``planned`` (made now) may not stand in for the saved ``entry``; None when it may."""
    if planned.source_hash != entry.source.hash:
        return "its source changed since planning"
    then, now = entry.target, planned.target
    if then.agent_id is None and now is not None:
        return f"an Atoms agent for it appeared since planning ({now.agent_id})"
    if then.agent_id is not None and now is None:
        return f"its Atoms agent {then.agent_id} is gone since planning"
    if now is not None and now.agent_id != then.agent_id:
        return f"its target is now Atoms agent {now.agent_id}, not {then.agent_id}"
    if now is not None and planned.target_revision != then.revision_id:
        return f"the target's live revision changed since planning ({then.revision_id} -> {planned.target_revision})"
    if tables_hash != saved_tables_hash:
        return "the mapping tables changed since planning"
    # The steps as read (``exclude_unset``): a step without a body stays one without a body.
    saved_steps = [step.model_dump(exclude_unset=True) for step in entry.plan.steps]
    if _comparable_steps([s.to_dict() for s in planned.plan.steps]) != _comparable_steps(saved_steps):
        return "planning again gives different write steps (options or state changed since planning)"
    return None


def plan_again(
    plan: SavedPlan, run: Run, concurrency: int, progress: flow.PhaseProgress, offline_tools: dict[str, Any]
) -> list[flow.Item]:
    """``apply PLAN`` up to the post-plan flow: read every saved agent's source and its target again and plan
    again with the saved settings; an agent whose saved plan no longer holds is refused (``refusal``).
    ``run`` is made from ``plan.settings.run_options()``, after ``check_secrets`` said every secret is given."""
    entries = [(flow.Item(agent.spec()), agent) for agent in plan.agents]
    saved = {id(item): agent for item, agent in entries}
    now_hash = current_tables_hash(run.config.tables)

    def check(item: flow.Item) -> str | None:
        assert item.planned is not None
        return refusal(saved[id(item)], item.planned, now_hash, plan.tables_hash)

    items = [item for item, _ in entries]
    flow.plan_items(items, run, concurrency, progress, offline_tools, check=check)
    return items
