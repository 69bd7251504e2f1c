"""After a migration: ``promote`` makes a staged branch live, ``rollback`` undoes the last operation.

Both find the agent's state entry from the SOURCE the user migrated (``state_entry``), ask the injected
``confirm`` before the one write that matters, record what they did (a promote records what was live before it,
so a rollback can put it back), and return a result the CLI renders. Nothing here prints or reads the environment:
progress lines go to ``say``, and the Atoms client comes from ``connect`` (called only once the state shows there
is something to do, so a wrong SOURCE is reported before a missing key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from atoms_migrate.apply.applier import Applier, ApplyOptions, ApplyResult, list_branches, live_branch
from atoms_migrate.apply.postcall import unsubscribe
from atoms_migrate.apply.run import read_source
from atoms_migrate.apply.state import AgentState, LastOperation, StateFile, load_state, record, update_state
from atoms_migrate.errors import Cancelled, ConfigError
from atoms_migrate.platforms.smallest import AtomsClient
from atoms_migrate.source.identity import legacy_keys, project_root
from atoms_migrate.source.select import SourceSpec

Connect = Callable[[], AtomsClient]
Confirm = Callable[[str], bool]
Say = Callable[[str], None]


def source_keys(source: str, state_path: Path) -> list[str]:
    """Every state key SOURCE may be recorded under: as given, its file's identity, older spellings."""
    path = Path(source)
    candidates = [source, *legacy_keys(path)]
    if path.is_file():
        candidates[1:1] = read_source(SourceSpec(source, "file"), None, None, root=project_root(state_path)).keys
    return list(dict.fromkeys(candidates))


def state_entry(source: str, state_path: Path) -> tuple[str, AgentState]:
    """(key, entry) for SOURCE: a state key as given, or the key of the file it names."""
    agents = load_state(state_path).agents
    for key in source_keys(source, state_path):
        if key in agents:
            return key, agents[key]
    raise ConfigError(
        f"{source} is not in the state file {state_path}",
        "Pass the same SOURCE (agent id or file) you migrated, and the same --state.",
    )


def _confirmed(confirm: Confirm, question: str) -> None:
    if not confirm(question):
        raise Cancelled()


@dataclass(frozen=True)
class Promoted:
    agent_id: str
    branch_name: str | None


def promote(source: str, state_path: Path, connect: Connect, confirm: Confirm) -> Promoted:
    """Make the branch a staged migration (``--branch``) wrote to the live one, remembering the one it replaces."""
    key, entry = state_entry(source, state_path)
    if entry.live or not entry.branch_id:
        raise ConfigError(
            f"{source} is not staged: its last apply already went live",
            "promote is for migrations applied with --branch.",
        )
    atoms = connect()
    live = live_branch(list_branches(atoms, entry.smallest_agent_id))
    _confirmed(confirm, f"Make branch {entry.branch_name!r} of Atoms agent {entry.smallest_agent_id} live?")
    atoms.make_live(entry.smallest_agent_id, entry.branch_id)
    entry.last_operation = LastOperation(
        kind="promote",
        previous_branch_id=live.branch.id,
        previous_revision_id=live.head,
    )
    entry.live = True
    record(state_path, key, entry)
    return Promoted(entry.smallest_agent_id, entry.branch_name)


@dataclass(frozen=True)
class RolledBack:
    agent_id: str
    undone: str  # the kind of operation undone: create (the agent was archived) | update | promote
    archived: bool = False


def rollback(source: str, state_path: Path, connect: Connect, confirm: Confirm, say: Say) -> RolledBack:
    """Undo the last apply: restore the revision live before it, or archive the agent if this tool created it."""
    key, entry = state_entry(source, state_path)
    last = entry.last_operation
    if last is None:
        raise ConfigError(f"nothing to roll back for {source}: the state records no apply since the last rollback")
    atoms = connect()
    agent_id = entry.smallest_agent_id
    if last.kind == "create":
        _confirmed(confirm, f"Archive Atoms agent {agent_id}, which atoms-migrate created? (reversible in Atoms)")
        remove_subscription(atoms, state_path, key, say)
        atoms.archive_agent(agent_id)
        record(state_path, key, None)
        return RolledBack(agent_id, last.kind, archived=True)
    if not last.previous_revision_id or (entry.versioning == "v2" and not last.previous_branch_id):
        raise ConfigError(f"the state does not record what was live before the last {last.kind} of {source}")
    if last.kind == "promote":
        _confirmed(confirm, f"Make the previously live branch of Atoms agent {agent_id} live again?")
        atoms.make_live(agent_id, str(last.previous_branch_id))
        entry.live = False
    else:
        _confirmed(confirm, f"Restore revision {last.previous_revision_id} on Atoms agent {agent_id}?")
        applier = Applier(atoms, ApplyOptions(), progress=lambda text: say(f"  {text}"))
        result = ApplyResult(
            agent_id=agent_id,
            versioning=entry.versioning,
            created=False,
            branch_id=last.previous_branch_id,
            branch_name=entry.branch_name,
        )
        entry.revision_id = applier.restore(result, str(last.previous_revision_id))
    remove_subscription(atoms, state_path, key, say)
    entry.last_operation = None
    record(state_path, key, entry)
    return RolledBack(agent_id, last.kind)


def remove_subscription(atoms: AtomsClient, state_path: Path, key: str, say: Say) -> None:
    """Rollback's webhook half: remove the post-call subscription atoms-migrate made for this agent."""
    subscription = load_state(state_path).webhook_subscriptions.get(key)
    if subscription is None:
        return
    say(f"  {unsubscribe(atoms, subscription.agent_id, subscription.webhook_id)}")

    def forget(state: StateFile) -> None:
        state.webhook_subscriptions.pop(key, None)

    update_state(state_path, forget)
