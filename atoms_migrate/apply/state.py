"""The state file: which Smallest agent each source became, and what was applied last.

Default ``.atoms-migrate/state.json``. One entry per source key (the ElevenLabs agent id,
or ``file:<path>`` for an export without one): the Smallest agent id, versioning model,
branch, revision applied, hashes of the source config and of the mapping tables, and what
``rollback`` needs (the revision that was live before the last apply, and whether this
tool created the agent). It also remembers the org resources made for agents (voice clones,
knowledge bases and the documents sent to them, post-call webhooks and their per-agent
subscriptions) so re-runs reuse them. It holds ids, names and hashes only, never config values,
so no secret can land in it. Writes are atomic (``fileio.write_text_atomic``), so an interrupted
run leaves the previous file intact. The state is a cache: losing it is safe, because agents
also carry a marker in their description (see ``plan.marker``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from atoms_migrate.errors import ConfigError
from atoms_migrate.fileio import write_text_atomic
from atoms_migrate.source.bounds import check_file

DEFAULT_STATE_PATH = Path(".atoms-migrate") / "state.json"
FORMAT_VERSION = 1


class LastOperation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    kind: str  # create | update | promote | rollback
    previous_branch_id: str | None = None
    previous_revision_id: str | None = None


class AgentState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    smallest_agent_id: str
    name: str = ""  # the Atoms agent's name (with a suffix when another source has the same name, Atoms §K.5)
    source_name: str = ""  # the source's name it was planned from: while it is unchanged, `name` is kept
    versioning: str = "v2"
    branch_id: str | None = None
    branch_name: str | None = None
    live: bool = True
    revision_id: str | None = None
    source_hash: str = ""
    tables_hash: str = ""
    created_by_atoms_migrate: bool = False
    applied_at: str = ""
    last_operation: LastOperation | None = None
    # Three-way sync (sync.py), added later, so older files read without them: a hash per
    # field unit of the config planned from the source, and of the config read back live
    # after our last verified publish (empty when unknown: the next run records them).
    planned_fields: dict[str, str] = {}
    published_fields: dict[str, str] = {}
    # A draft this tool wrote and has not seen published (apply.ApplyResult.open_draft): a re-run adopts it.
    open_draft: dict[str, Any] | None = None


class KnowledgeBaseState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    kb_id: str
    documents: dict[str, str] = {}  # ElevenLabs document id -> what was sent ("pdf:<file>", "url:<url>")


class WebhookSubscriptionState(BaseModel):
    """An agent's subscription to an Atoms webhook (post-call, §K.3), as atoms-migrate made it."""

    model_config = ConfigDict(extra="ignore")

    webhook_id: str
    agent_id: str  # the Atoms agent subscribed
    url_hash: str  # canonical_hash of the URL: a URL may carry a token, so it is not stored
    event_types: list[str] = []


class StateFile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    format_version: int = FORMAT_VERSION
    agents: dict[str, AgentState] = {}
    # Org resources made for agents, so re-runs reuse them: ElevenLabs voice id -> Smallest clone id,
    # and one knowledge base per source key.
    voice_clones: dict[str, str] = {}
    knowledge_bases: dict[str, KnowledgeBaseState] = {}
    # Post-call webhooks (added later; older files read without them): URL hash -> Atoms webhook id
    # (made or found), and source key -> the subscription made for that agent. Never the signing secret.
    webhooks: dict[str, str] = {}
    webhook_subscriptions: dict[str, WebhookSubscriptionState] = {}
    # The account's write form for each field whose form is unproven (mappings/write_forms.yaml):
    # field -> form name, learnt from a read-back or `doctor --probe`, so later agents start right.
    write_forms: dict[str, str] = {}


def canonical_hash(value: Any) -> str:
    """sha256 of the canonical JSON of ``value`` (sorted keys, no whitespace)."""
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


def load_state(path: Path) -> StateFile:
    if not path.exists():
        return StateFile()
    try:
        check_file(path)  # a FIFO or device would block or never end
        raw = json.loads(path.read_text(encoding="utf-8"))
        _check_format_version(path, raw)
        return StateFile.model_validate(raw)
    except (OSError, ValueError, ValidationError, RecursionError) as exc:
        raise ConfigError(
            f"state file {path} cannot be read: {str(exc).splitlines()[0]}",
            "Fix or remove it: agents carry a marker, so a missing state file creates no duplicates.",
        ) from exc


class StateTooNew(ConfigError):
    """The state file's format is newer than this build: never rewritten, never read half."""


def _check_format_version(path: Path, raw: Any) -> None:
    """Refuse a state file from a newer build: rewriting it as version 1 would drop what this build does not know."""
    version = raw.get("format_version", FORMAT_VERSION) if isinstance(raw, dict) else FORMAT_VERSION
    if isinstance(version, bool) or not isinstance(version, (int, str)) or not str(version).strip().isdigit():
        raise ValueError(f"format_version {version!r:.40} is not a version number")
    if int(str(version).strip()) > FORMAT_VERSION:
        raise StateTooNew(
            f"state file {path} was written by a newer atoms-migrate (format_version {int(str(version).strip())}; "
            f"this build reads up to {FORMAT_VERSION}); upgrade",
            "Upgrade atoms-migrate (pip install -U atoms-migrate); the file is left as it is.",
        )


def save_state(path: Path, state: StateFile) -> None:
    """Write atomically: a crash leaves either the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(state.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
    try:
        write_text_atomic(path, text)
    except OSError as exc:
        raise ConfigError(f"cannot write state file {path}: {exc.strerror}") from exc


def tables_hash(tables: Any) -> str:
    return canonical_hash(
        [t.model_dump(mode="json") for t in (tables.concepts, tables.voices, tables.llms, tables.languages)]
    )


def entry_after(
    result: Any, name: str, source_raw: Any, tables: Any, prior: AgentState | None, source_name: str = ""
) -> AgentState:
    """The state entry after an apply (or a no-op run) described by ``apply.ApplyResult``."""
    last = prior.last_operation if prior else None
    if result.created or result.revision_id:
        last = LastOperation(
            kind="create" if result.created else "update",
            previous_branch_id=result.previous_branch_id,
            previous_revision_id=result.previous_revision_id,
        )
    return AgentState(
        smallest_agent_id=result.agent_id,
        name=name,
        source_name=source_name or (prior.source_name if prior else ""),
        versioning=result.versioning,
        branch_id=result.branch_id,
        branch_name=result.branch_name,
        live=result.live,
        revision_id=result.revision_id or (prior.revision_id if prior else None),
        source_hash=canonical_hash(source_raw),
        tables_hash=tables_hash(tables),
        created_by_atoms_migrate=result.created or bool(prior and prior.created_by_atoms_migrate),
        applied_at=datetime.now(UTC).isoformat(timespec="seconds"),
        last_operation=last,
        open_draft=getattr(result, "open_draft", None),
    )


def update_state(path: Path, change: Callable[[StateFile], None]) -> None:
    """Re-read the file, apply ``change``, write it back: other entries survive."""
    state = load_state(path)
    change(state)
    save_state(path, state)


def record(path: Path, key: str, entry: AgentState | None) -> None:
    """Set (or, with None, remove) one agent entry."""

    def change(state: StateFile) -> None:
        if entry is None:
            state.agents.pop(key, None)
        else:
            state.agents[key] = entry

    update_state(path, change)
