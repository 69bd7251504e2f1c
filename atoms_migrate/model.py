"""Value objects shared by mapping, planning and rendering.

Everything here is a frozen dataclass: the mapper produces ``Assignment``s and
``Finding``s, the planner turns them into ``Change``s inside an ``AgentPlan``, and the
renderers only read them. ``to_dict`` methods give the public JSON contract
(``format_version`` "1"): keys may be added, never renamed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ChangeStatus = Literal["mapped", "lossy", "defaulted"]
RESOURCE_STEPS = frozenset(
    {"clone_voice", "knowledge_base", "webhook"}
)  # not agent config; webhook runs after the agent
FindingStatus = Literal["unmapped", "lossy", "ignored"]
Severity = Literal["error", "warning", "info"]
Action = Literal["create", "update", "no-op"]

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Assignment:
    """The mapper's decision that Atoms field ``path`` takes ``value``."""

    path: str
    value: Any
    source_path: str
    rule: str
    status: ChangeStatus
    note: str = ""


@dataclass(frozen=True)
class Finding:
    """A source field that was not (fully) migrated, and why."""

    source_path: str
    status: FindingStatus
    severity: Severity
    message: str
    hint: str = ""
    rule: str = ""
    normalised_path: str = ""  # the same place in the normalised (API) layout, when the file's own path differs

    def to_dict(self) -> dict[str, Any]:
        out = {
            "source_path": self.source_path,
            "status": self.status,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
        }
        if self.rule:
            out["rule"] = self.rule
        if self.normalised_path:
            out["normalised_path"] = self.normalised_path
        return out


@dataclass(frozen=True)
class Change:
    """One field of the target config that differs from what is live (or will be created)."""

    path: str
    before: Any
    after: Any
    source_path: str
    rule: str
    status: ChangeStatus
    note: str = ""
    normalised_path: str = ""  # the same place in the normalised (API) layout, when the file's own path differs

    @property
    def kind(self) -> Literal["+", "~", "-"]:
        if self.before is None:
            return "+"
        return "-" if self.after is None else "~"

    def to_dict(self) -> dict[str, Any]:
        out = {
            "path": self.path,
            "before": self.before,
            "after": self.after,
            "source_path": self.source_path,
            "rule": self.rule,
            "status": self.status,
        }
        if self.note:
            out["note"] = self.note
        if self.normalised_path:
            out["normalised_path"] = self.normalised_path
        return out


@dataclass(frozen=True)
class TargetEdit:
    """A field someone changed on Atoms since our last publish: what we published, what is live now."""

    path: str
    published: Any
    live: Any

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "published": self.published, "live": self.live}


StepKind = Literal["clone_voice", "knowledge_base", "webhook", "create", "metadata", "draft", "publish", "verify"]


@dataclass(frozen=True)
class Step:
    """One write (or check) of the apply sequence, with the exact body it will send."""

    kind: StepKind
    summary: str
    body: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "summary": self.summary}
        if self.body is not None:
            out["body"] = self.body
        return out


@dataclass(frozen=True)
class SourceRef:
    key: str
    agent_id: str | None
    name: str
    path: str | None
    shape: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentPlan:
    source: SourceRef
    action: Action
    target_agent_id: str | None
    target_config: dict[str, Any]
    changes: tuple[Change, ...]
    findings: tuple[Finding, ...]
    assignments: tuple[Assignment, ...] = field(default=(), repr=False)
    steps: tuple[Step, ...] = ()
    # Literal credentials the plan refers to as <secret:NAME>; never serialised or shown.
    secret_values: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    # One example call per migrated api_call tool, rendered as each platform sends it (toolcalls.py).
    tool_parity: tuple[Any, ...] = ()
    # Three-way sync (sync.py): new | in-sync | update | drifted | conflict; None before it is classified.
    sync: str | None = None
    resolution: str = ""  # how a drift or conflict was settled: keep | overwrite | merge | source | target | fail
    target_edits: tuple[TargetEdit, ...] = ()  # fields edited on Atoms since our last publish
    pending_changes: tuple[Change, ...] = ()  # source changes held back by a drift or conflict

    @property
    def blocked(self) -> bool:
        """A conflict nobody said how to resolve: nothing is written and the agent fails."""
        return self.sync == "conflict" and self.resolution == "fail"

    def counts(self) -> dict[str, int]:
        """Field-level outcome of the mapping (independent of what is already live)."""
        counts = {"mapped": 0, "lossy": 0, "defaulted": 0, "unmapped": 0, "ignored": 0}
        for a in self.assignments:
            counts[a.status] += 1
        for f in self.findings:
            counts[f.status] += 1
        return counts

    def errors(self) -> list[Finding]:
        """Error-level findings: by default they stop this agent's apply (``--allow-errors`` overrides)."""
        return [f for f in self.findings if f.severity == "error"]

    def has_changes(self) -> bool:
        """Anything to write: agent config, or org resources (clones, knowledge-base documents)."""
        return self.action != "no-op" or any(s.kind in RESOURCE_STEPS for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": {
                "key": self.source.key,
                "agent_id": self.source.agent_id,
                "name": self.source.name,
                "path": self.source.path,
                "shape": self.source.shape,
                "notes": list(self.source.notes),
            },
            "action": self.action,
            "target": {"agent_id": self.target_agent_id, "config": self.target_config},
            "changes": [c.to_dict() for c in self.changes],
            "findings": [f.to_dict() for f in self.findings],
            "counts": self.counts(),
            "steps": [s.to_dict() for s in self.steps],
            "tool_parity": [p.to_dict() for p in self.tool_parity],
            **self._sync_dict(),
        }

    def _sync_dict(self) -> dict[str, Any]:
        if self.sync is None:
            return {}
        out: dict[str, Any] = {"sync": self.sync}
        if self.sync in ("drifted", "conflict"):
            out["resolution"] = self.resolution
            out["target_edits"] = [e.to_dict() for e in self.target_edits]
            if self.pending_changes:
                out["pending_changes"] = [c.to_dict() for c in self.pending_changes]
        return out


@dataclass(frozen=True)
class Plan:
    agents: tuple[AgentPlan, ...]

    def summary(self) -> dict[str, int]:
        out = {
            "create": 0,
            "update": 0,
            "no-op": 0,
            "mapped": 0,
            "lossy": 0,
            "defaulted": 0,
            "unmapped": 0,
            "ignored": 0,
        }
        for agent in self.agents:
            out[agent.action] += 1
            for key, n in agent.counts().items():
                out[key] += n
        errors = sum(1 for a in self.agents for f in a.findings if f.severity == "error")
        out["errors"] = errors
        return out

    def has_changes(self) -> bool:
        return any(a.has_changes() for a in self.agents)

    def to_dict(self) -> dict[str, Any]:
        return {"format_version": "1", "agents": [a.to_dict() for a in self.agents], "summary": self.summary()}
