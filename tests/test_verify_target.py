"""verify's core pieces in-process: finding the migrated agent and its live config (apply/migrated.py)
against the sandbox's Atoms fake, and the JUnit XML of a verify run (report/ci.py). No CLI, no subprocess."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import EXAMPLE

from atoms_migrate.apply import flow
from atoms_migrate.apply.migrated import migrated_agent
from atoms_migrate.apply.run import Run, RunConfig
from atoms_migrate.apply.state import load_state
from atoms_migrate.errors import ConfigError
from atoms_migrate.platforms.realtime import Turn
from atoms_migrate.platforms.retry import RetryPolicy
from atoms_migrate.platforms.smallest import AtomsClient
from atoms_migrate.report.ci import verify_junit
from atoms_migrate.sandbox.server import ATOMS_KEY, Sandbox
from atoms_migrate.source.select import SourceSpec
from atoms_migrate.verify.run import PlatformRun


class Rig:
    def __init__(self, tables: Any, tmp: Path, versioning: str) -> None:
        self.box = Sandbox(versioning=versioning, scan_reads=0)
        self.tables = tables
        self.state = tmp / "state.json"
        self.file = tmp / "support.json"
        self.connects = 0

    def connect(self) -> AtomsClient:
        self.connects += 1
        http = httpx.Client(
            base_url="http://sandbox", transport=self.box.transport(), headers={"Authorization": f"Bearer {ATOMS_KEY}"}
        )
        return AtomsClient(http, RetryPolicy(attempts=2, initial_wait=0, max_wait=0, sleep=lambda s: None))

    def migrate(self, first_message: str) -> str:
        raw = json.loads(EXAMPLE.read_text())
        raw["conversation_config"]["agent"]["first_message"] = first_message
        self.file.write_text(json.dumps(raw))
        run = Run(RunConfig(tables=self.tables, state_path=self.state), self.connect(), None)
        items = [flow.Item(SourceSpec(str(self.file), "file"))]
        flow.plan_items(items, run, 1, flow.SilentProgress(), {})
        report = flow.post_plan(
            items, flow.combined_plan(items), run, flow.FlowOptions(single=True), confirm=lambda q: True
        )
        assert report.applied and report.exit_code() == 0, items[0].message()
        self.connects = 0
        (key,) = load_state(self.state).agents
        return key


@pytest.mark.parametrize("versioning", ["v1", "v2"])
def test_the_state_files_agent_is_read_live(tables, tmp_path: Path, versioning: str) -> None:
    rig = Rig(tables, tmp_path, versioning)
    key = rig.migrate("Hello from the migration.")
    found = migrated_agent(str(rig.file), rig.state, ["not-this-one", key], None, rig.connect)
    assert found.agent_id == load_state(rig.state).agents[key].smallest_agent_id
    assert found.live["firstMessage"] == "Hello from the migration."
    assert rig.connects == 1


def test_target_wins_over_the_state_file(tables, tmp_path: Path) -> None:
    rig = Rig(tables, tmp_path, "v2")
    rig.migrate("First.")
    other = Rig(tables, tmp_path / "other", "v2")
    (tmp_path / "other").mkdir()
    other.box = rig.box  # the same account, a second agent
    other.file = tmp_path / "other" / "support.json"
    other_key = other.migrate("Second.")
    target = load_state(other.state).agents[other_key].smallest_agent_id
    found = migrated_agent("anything", rig.state, [], target, rig.connect)
    assert (found.agent_id, found.live["firstMessage"]) == (target, "Second.")


def test_a_source_never_migrated_fails_before_any_client_is_made(tmp_path: Path) -> None:
    def connect() -> AtomsClient:
        raise AssertionError("no client may be made (a missing key must not hide the real problem)")

    with pytest.raises(ConfigError, match="support.json has no migrated Atoms agent in the state file"):
        migrated_agent("support.json", tmp_path / "state.json", ["support"], None, connect)


def test_a_target_atoms_does_not_have_is_a_config_error(tables, tmp_path: Path) -> None:
    rig = Rig(tables, tmp_path, "v2")
    with pytest.raises(ConfigError, match="Atoms has no agent agent-missing"):
        migrated_agent("x", rig.state, [], "agent-missing", rig.connect)


def test_verify_junit_has_one_case_per_turn_and_fails_the_failed_ones() -> None:
    runs = [
        PlatformRun(
            "atoms",
            "a1",
            [
                (Turn(None, "Hi, I am Ada.", ["agent_response"], seconds=0.5), []),
                (Turn("x" * 70, "", ["end_call"], ended=True, seconds=1.25), ["no reply", "should not end"]),
            ],
        ),
        PlatformRun("elevenlabs", "e1", [(Turn(None, "Hello.", seconds=0.1), [])]),
    ]
    root = ET.fromstring(verify_junit(runs, "smoke"))
    assert (root.get("name"), root.get("tests"), root.get("failures")) == ("atoms-migrate verify", "3", "1")
    (suite,) = root
    assert (suite.get("name"), suite.get("time")) == ("smoke", "1.850")
    cases = [(c.get("classname"), c.get("name"), c.get("time")) for c in suite]
    assert cases == [
        ("atoms-migrate.verify.atoms", "opening", "0.500"),
        ("atoms-migrate.verify.atoms", "turn 1: " + "x" * 60, "1.250"),
        ("atoms-migrate.verify.elevenlabs", "opening", "0.100"),
    ]
    failure = suite[1].find("failure")
    assert failure is not None
    assert (failure.get("message"), failure.get("type"), failure.text) == (
        "no reply",
        "expectation",
        "no reply\nshould not end",
    )
    assert suite[1].findtext("system-out") == f"user: {'x' * 70}\nagent: \nevents: end_call"
    assert suite[0].find("failure") is None and suite[0].findtext("system-out") == (
        "user: None\nagent: Hi, I am Ada.\nevents: agent_response"
    )
