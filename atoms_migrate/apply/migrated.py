"""Find a migrated Atoms agent and read its live config: what ``verify`` talks to.

The agent is ``target`` when given, else the state file's entry for one of SOURCE's keys; its live
config (the published one, or the draft when nothing is published) is read through the versioning
model the state recorded, or probed (§C.4). The client is made only once the agent id is known, through
an injected ``connect``, so a source that was never migrated is reported before a missing API key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atoms_migrate.apply.applier import detect_versioning, read_live
from atoms_migrate.apply.state import load_state
from atoms_migrate.errors import ConfigError
from atoms_migrate.platforms.smallest import AtomsClient


@dataclass(frozen=True)
class MigratedAgent:
    agent_id: str
    live: dict[str, Any]  # the live config: first message, speaking order, tools


def migrated_agent(
    source: str,
    state_path: Path,
    keys: Sequence[str],
    target: str | None,
    connect: Callable[[], AtomsClient],
) -> MigratedAgent:
    """The Atoms agent to talk to (``target``, else the state file's entry for SOURCE's ``keys``), read live."""
    agents = load_state(state_path).agents
    entry = next((agents[k] for k in keys if k in agents), None)
    agent_id = target or (entry.smallest_agent_id if entry else None)
    if not agent_id:
        raise ConfigError(
            f"{source} has no migrated Atoms agent in the state file",
            "Migrate it first, or pass --target AGENT_ID.",
        )
    atoms = connect()
    doc = atoms.get_agent(agent_id)
    if doc is None:
        raise ConfigError(f"Atoms has no agent {agent_id}", "Check --target, or migrate again.")
    versioning = detect_versioning(atoms, agent_id, "auto", entry.versioning if entry and not target else None)
    live, *_ = read_live(atoms, agent_id, versioning, None, doc)
    return MigratedAgent(agent_id, live)
