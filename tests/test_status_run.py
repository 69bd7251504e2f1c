"""``status`` in-process (apply/status.py) against the sandbox's Atoms fake: which sources SOURCE... names, and
each agent's classification, with its source changes and Atoms-side edits. Reads only; no CLI, no subprocess."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import EXAMPLE

from atoms_migrate.apply import flow
from atoms_migrate.apply.run import Run, RunConfig
from atoms_migrate.apply.state import load_state
from atoms_migrate.apply.status import AgentStatus, StatusReport, status_specs, statuses
from atoms_migrate.errors import ConfigError
from atoms_migrate.platforms.retry import RetryPolicy
from atoms_migrate.platforms.smallest import AtomsClient
from atoms_migrate.sandbox.server import ATOMS_KEY, Sandbox
from atoms_migrate.source.select import SourceSpec


class Rig:
    def __init__(self, tables: Any, tmp: Path) -> None:
        self.box = Sandbox(versioning="v2", scan_reads=0)
        self.tables = tables
        self.state = tmp / "state.json"
        self.file = tmp / "support.json"
        self.write_source("Hello.")

    def connect(self) -> AtomsClient:
        http = httpx.Client(
            base_url="http://sandbox", transport=self.box.transport(), headers={"Authorization": f"Bearer {ATOMS_KEY}"}
        )
        return AtomsClient(http, RetryPolicy(attempts=2, initial_wait=0, max_wait=0, sleep=lambda s: None))

    def run(self) -> Run:
        return Run(RunConfig(tables=self.tables, state_path=self.state), self.connect(), None)

    def write_source(self, first_message: str) -> None:
        raw = json.loads(EXAMPLE.read_text())
        raw["conversation_config"]["agent"]["first_message"] = first_message
        self.file.write_text(json.dumps(raw))

    def migrate(self) -> str:
        run = self.run()
        items = [flow.Item(SourceSpec(str(self.file), "file"))]
        flow.plan_items(items, run, 1, flow.SilentProgress(), {})
        report = flow.post_plan(
            items, flow.combined_plan(items), run, flow.FlowOptions(single=True), confirm=lambda q: True
        )
        assert report.applied and report.exit_code() == 0, items[0].message()
        (entry,) = load_state(self.state).agents.values()
        return entry.smallest_agent_id

    def status(self, *specs: SourceSpec) -> StatusReport:
        writes = len(self.box.writes())
        report = statuses(self.run(), specs or [SourceSpec(str(self.file), "file")])
        assert len(self.box.writes()) == writes  # status never writes
        return report


@pytest.fixture
def rig(tables, tmp_path: Path) -> Rig:
    return Rig(tables, tmp_path)


def test_a_source_never_migrated(rig: Rig) -> None:
    (row,) = rig.status().rows
    assert (row.status, row.atoms_agent_id, row.source, row.key) == (
        "not-migrated",
        None,
        str(rig.file),
        json.loads(EXAMPLE.read_text())["agent_id"],  # a file's key is the agent id it carries
    )


def test_in_sync_then_source_changed_then_conflict_after_a_dashboard_edit(rig: Rig) -> None:
    agent_id = rig.migrate()
    (row,) = rig.status().rows
    assert (row.status, row.atoms_agent_id, row.source_changes, row.target_edits) == ("in-sync", agent_id, [], [])

    rig.box.atoms.dashboard_edit(agent_id, {"synthesizer": {"speed": 0.8}})
    (row,) = rig.status().rows
    assert row.status == "drifted" and row.source_changes == []
    assert [e["path"] for e in row.target_edits] == ["synthesizer.speed"]

    rig.write_source("Changed at the source.")
    report = rig.status()
    (row,) = report.rows
    assert (row.status, row.source_changes) == ("conflict", ["firstMessage"])
    assert report.counts == {"conflict": 1} and not report.all_in_sync and not report.errors


def test_a_source_change_alone_is_an_update(rig: Rig) -> None:
    rig.migrate()
    rig.write_source("Changed at the source.")
    (row,) = rig.status().rows
    assert (row.status, row.source_changes, row.target_edits) == ("update", ["firstMessage"], [])


def test_an_archived_target_is_missing(rig: Rig) -> None:
    agent_id = rig.migrate()
    rig.connect().archive_agent(agent_id)
    (row,) = rig.status().rows
    assert (row.status, row.atoms_agent_id) == ("target-missing", agent_id)


def test_a_broken_source_is_an_error_row_and_a_non_agent_file_is_skipped(rig: Rig, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    other = tmp_path / "package.json"
    other.write_text(json.dumps({"name": "not-an-agent", "version": "1.0.0"}))
    report = rig.status(SourceSpec(str(broken), "file"), SourceSpec(str(other), "file"))
    (row,) = report.rows
    assert row.status == "error" and row.error and row.name == str(broken)
    assert report.errors and report.counts == {"error": 1}
    assert row.to_dict() == {
        "key": "file:" + broken.as_posix(),
        "name": str(broken),
        "source": str(broken),
        "status": "error",
        "atoms_agent_id": None,
        "source_changes": [],
        "target_edits": [],
        "error": row.error,
    }


def test_the_json_document_keeps_its_shape() -> None:
    rows = [
        AgentStatus("k1", "One", "one.json", "in-sync", "a1"),
        AgentStatus("k2", "Two", "two.json", "update", "a2", ["firstMessage"]),
        AgentStatus("k3", "Three", "three.json", "in-sync", "a3"),
    ]
    doc = StatusReport(rows).to_dict()
    assert doc["format_version"] == "1" and doc["summary"] == {"in-sync": 2, "update": 1}
    assert doc["agents"][1] == {
        "key": "k2",
        "name": "Two",
        "source": "two.json",
        "status": "update",
        "atoms_agent_id": "a2",
        "source_changes": ["firstMessage"],
        "target_edits": [],
    }


def test_sources_are_files_directories_and_ids(tmp_path: Path) -> None:
    folder = tmp_path / "agents"
    folder.mkdir()
    (folder / "a.json").write_text(EXAMPLE.read_text())
    (folder / "notes.txt").write_text("not an agent")
    specs, _ = status_specs([str(folder), "agent_7101k5zvyjhmfg983brhmhkd98n6", "later.yaml"], None)
    assert [(s.ref, s.kind) for s in specs] == [
        (str(folder / "a.json"), "file"),
        ("agent_7101k5zvyjhmfg983brhmhkd98n6", "id"),
        ("later.yaml", "file"),
    ]


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ([], "ELEVENLABS_API_KEY is not set, so the account's agents cannot be listed"),
        (["no such thing!"], "no such thing!: no such file or directory, and not an ElevenLabs agent id"),
    ],
)
def test_sources_that_cannot_be_listed(sources: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        status_specs(sources, None)


def test_every_status_has_a_label_for_the_text_output() -> None:
    """The text output looks each row's status up in LABELS: a status without one would crash `status`."""
    from typing import get_args

    from atoms_migrate.apply.status import Status
    from atoms_migrate.cli.status import LABELS

    assert set(LABELS) == set(get_args(Status))
