"""``status``: where each agent of a gradual migration stands, reading both sides (GET only).

``status_specs`` turns the SOURCE arguments into sources (files, directories, agent ids, or the whole
ElevenLabs account without any); ``agent_status`` reads one source and the Atoms agent the state file
names, plans (pure) and classifies it: in sync, source changed (``update``), drifted, conflict (the three
ways of ``sync.py``), not migrated, or target missing (archived or deleted on Atoms); ``statuses`` does
that for every source, a failed one being an ``error`` row and a file that is not an agent skipped.
Nothing is written: not to Atoms, not to the state file. The CLI renders the rows and picks the exit code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from atoms_migrate.apply.run import Run
from atoms_migrate.errors import ConfigError, MigrationError, NotAnAgentConfig
from atoms_migrate.platforms.elevenlabs import ElevenLabsClient
from atoms_migrate.source import select
from atoms_migrate.source.select import AGENT_ID, SourceSpec

# "new": an Atoms agent found by its marker with no state entry (sync.py leaves such a plan as planned).
Status = Literal["in-sync", "update", "drifted", "conflict", "new", "not-migrated", "target-missing", "error"]
SYNC_STATES: tuple[Status, ...] = ("in-sync", "update", "drifted", "conflict", "new")


@dataclass(frozen=True)
class AgentStatus:
    """One agent's line of ``status`` (``to_dict`` is its ``--json`` form)."""

    key: str
    name: str
    source: str  # SOURCE as given (file path or agent id)
    status: Status
    atoms_agent_id: str | None
    source_changes: list[str] = field(default_factory=list)  # paths the source changed (update, conflict)
    target_edits: list[dict[str, Any]] = field(default_factory=list)  # fields edited on Atoms since our publish
    error: str | None = None  # why an ``error`` row could not be classified

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "key": self.key,
            "name": self.name,
            "source": self.source,
            "status": self.status,
            "atoms_agent_id": self.atoms_agent_id,
            "source_changes": list(self.source_changes),
            "target_edits": list(self.target_edits),
        }
        if self.error is not None:
            row["error"] = self.error
        return row


@dataclass(frozen=True)
class StatusReport:
    rows: list[AgentStatus]

    @property
    def counts(self) -> dict[str, int]:
        """How many agents are in each state, in the order first met."""
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        return counts

    @property
    def errors(self) -> bool:
        return any(row.status == "error" for row in self.rows)

    @property
    def all_in_sync(self) -> bool:
        return all(row.status == "in-sync" for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        """The document ``status --json`` prints (format_version 1)."""
        return {"format_version": "1", "agents": [row.to_dict() for row in self.rows], "summary": self.counts}


def status_specs(sources: list[str], elevenlabs: ElevenLabsClient | None) -> tuple[list[SourceSpec], list[str]]:
    """(the sources SOURCE... names, notes on directory entries skipped); no SOURCE: every agent of the account."""
    if not sources:
        if elevenlabs is None:
            raise ConfigError(
                "ELEVENLABS_API_KEY is not set, so the account's agents cannot be listed",
                "Export ELEVENLABS_API_KEY, or pass agent files, directories or ids.",
            )
        return select.enumerate_account(elevenlabs), []
    specs: list[SourceSpec] = []
    notes: list[str] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            found, more = select.enumerate_directory(path)
            specs += found
            notes += more
        elif path.exists() or path.suffix.lower() in (".json", ".yaml", ".yml") or "/" in source:
            specs.append(SourceSpec(source, "file"))
        elif AGENT_ID.match(source):
            specs.append(SourceSpec(source, "id"))
        else:
            raise ConfigError(f"{source}: no such file or directory, and not an ElevenLabs agent id")
    return specs, notes


def agent_status(run: Run, spec: SourceSpec) -> AgentStatus:
    """One agent's line: read and plan (reads only), then the state it is in."""
    source = run.read(spec)
    planned = run.plan(source)
    plan = planned.plan
    state: Status
    if planned.target is None:
        state = "target-missing" if planned.prior is not None else "not-migrated"
    elif plan.sync is not None:
        state = _sync_state(plan.sync)
    else:
        state = "in-sync" if not plan.has_changes() else "update"
    changed = [c.path for c in (plan.pending_changes or plan.changes)] if state in ("update", "conflict") else []
    if planned.target is not None:
        agent_id: str | None = planned.target.agent_id
    else:
        agent_id = planned.prior.smallest_agent_id if planned.prior else None
    return AgentStatus(
        key=source.key,
        name=plan.source.name,
        source=spec.ref,
        status=state,
        atoms_agent_id=agent_id,
        source_changes=changed,
        target_edits=[e.to_dict() for e in plan.target_edits],
    )


def _sync_state(sync: str) -> Status:
    """The plan's sync classification (``sync.py``) as a status; any other value is a bug, said as one."""
    for state in SYNC_STATES:
        if sync == state:
            return state
    raise MigrationError(f"unknown sync classification {sync!r}")


def statuses(run: Run, specs: Iterable[SourceSpec]) -> StatusReport:
    """Every source's status; one that fails is an ``error`` row, a file that is not an agent config is skipped."""
    rows: list[AgentStatus] = []
    for spec in specs:
        try:
            rows.append(agent_status(run, spec))
        except NotAnAgentConfig:
            continue
        except MigrationError as exc:
            rows.append(
                AgentStatus(spec.key, spec.name or spec.ref, spec.ref, "error", None, [], [], error=exc.message)
            )
    return StatusReport(rows)
