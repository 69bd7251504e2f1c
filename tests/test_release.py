"""promote and rollback (apply/release.py) in-process, against the sandbox's Atoms fake: no CLI, no subprocess."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import EXAMPLE

from atoms_migrate.apply import flow, release
from atoms_migrate.apply.run import Run, RunConfig
from atoms_migrate.apply.state import load_state
from atoms_migrate.errors import Cancelled, ConfigError
from atoms_migrate.platforms.retry import RetryPolicy
from atoms_migrate.platforms.smallest import AtomsClient
from atoms_migrate.sandbox.server import ATOMS_KEY, Sandbox
from atoms_migrate.source.select import SourceSpec


class Rig:
    def __init__(self, tables: Any, tmp: Path) -> None:
        self.box = Sandbox(versioning="v2", scan_reads=0)
        self.tables, self.tmp = tables, tmp
        self.state = tmp / "state.json"
        self.file = tmp / "support.json"
        self.connects = 0
        self.said: list[str] = []

    def connect(self) -> AtomsClient:
        self.connects += 1
        http = httpx.Client(
            base_url="http://sandbox", transport=self.box.transport(), headers={"Authorization": f"Bearer {ATOMS_KEY}"}
        )
        return AtomsClient(http, RetryPolicy(attempts=2, initial_wait=0, max_wait=0, sleep=lambda s: None))

    def migrate(self, first_message: str, branch: str | None = None) -> None:
        raw = json.loads(EXAMPLE.read_text())
        raw["conversation_config"]["agent"]["first_message"] = first_message
        self.file.write_text(json.dumps(raw))
        run = Run(RunConfig(tables=self.tables, state_path=self.state, branch=branch), self.connect(), None)
        items = [flow.Item(SourceSpec(str(self.file), "file"))]
        flow.plan_items(items, run, 1, flow.SilentProgress(), {})
        report = flow.post_plan(
            items, flow.combined_plan(items), run, flow.FlowOptions(single=True), confirm=lambda q: True
        )
        assert report.applied and report.exit_code() == 0, items[0].message()

    def live(self) -> list[dict[str, Any]]:
        return [a for a in self.box.atoms.summary() if not a["archived"]]

    def live_message(self) -> str:
        (agent,) = self.live()
        return str(agent["live_config"]["firstMessage"])

    def promote(self, answer: bool = True) -> release.Promoted:
        return release.promote(str(self.file), self.state, self.connect, lambda q: answer)

    def rollback(self, answer: bool = True) -> release.RolledBack:
        return release.rollback(str(self.file), self.state, self.connect, lambda q: answer, self.said.append)


@pytest.fixture
def rig(tables, tmp_path: Path) -> Rig:
    return Rig(tables, tmp_path)


def test_promote_makes_the_staged_branch_live_and_rollback_puts_the_old_one_back(rig: Rig) -> None:
    rig.migrate("Live.")
    rig.migrate("Staged.", branch="migration")
    assert rig.live_message() == "Live."
    promoted = rig.promote()
    assert promoted.branch_name == "migration" and rig.live_message() == "Staged."
    ((key, entry),) = load_state(rig.state).agents.items()
    assert entry.live and entry.last_operation is not None and entry.last_operation.kind == "promote"
    rolled = rig.rollback()
    assert (rolled.undone, rolled.archived) == ("promote", False) and rig.live_message() == "Live."
    after = load_state(rig.state).agents[key]
    assert not after.live and after.last_operation is None


def test_rollback_of_an_update_restores_the_revision_before_it(rig: Rig) -> None:
    rig.migrate("First.")
    rig.migrate("Second.")
    assert rig.live_message() == "Second."
    assert rig.rollback().undone == "update"
    assert rig.live_message() == "First."
    with pytest.raises(ConfigError, match="nothing to roll back"):
        rig.rollback()


def test_rollback_of_a_create_archives_the_agent_and_forgets_it(rig: Rig) -> None:
    rig.migrate("Hello.")
    rolled = rig.rollback()
    assert rolled.archived and rolled.undone == "create"
    assert rig.live() == [] and load_state(rig.state).agents == {}


def test_a_declined_confirmation_writes_nothing(rig: Rig) -> None:
    rig.migrate("Live.")
    rig.migrate("Staged.", branch="migration")
    before, writes = load_state(rig.state).model_dump(), len(rig.box.writes())
    with pytest.raises(Cancelled, match="cancelled; nothing was written"):
        rig.promote(answer=False)
    with pytest.raises(Cancelled):
        rig.rollback(answer=False)
    assert len(rig.box.writes()) == writes and load_state(rig.state).model_dump() == before


def test_promote_of_a_live_migration_is_refused_before_connecting(rig: Rig) -> None:
    rig.migrate("Live.")
    connects = rig.connects
    with pytest.raises(ConfigError, match="is not staged"):
        rig.promote()
    assert rig.connects == connects


def test_an_unknown_source_is_named_before_connecting(rig: Rig) -> None:
    with pytest.raises(ConfigError, match="is not in the state file"):
        release.rollback("agent_unknown", rig.state, rig.connect, lambda q: True, rig.said.append)
    assert rig.connects == 0


def test_source_keys_finds_a_file_under_its_identity(rig: Rig) -> None:
    rig.migrate("Hello.")
    ((key, _),) = load_state(rig.state).agents.items()
    assert key in release.source_keys(str(rig.file), rig.state)
    assert release.state_entry(str(rig.file), rig.state)[0] == key
