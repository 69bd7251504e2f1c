"""End to end: gradual migrations, with the installed CLI against the sandbox over HTTP.

A dashboard edit on Atoms (made through the sandbox API: a published, live revision) is
drift: reported field by field with zero writes. A source edit plus a dashboard edit is a
conflict: exit 1 with zero writes, unless ``--merge`` (different fields) or
``--on-conflict source|target`` settles it. ``status --detailed-exitcode`` exits 2 after
either. Every assertion reads the fake's live config and its request log.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from conftest import EXAMPLE
from test_e2e import Box, _box

# Runs the installed CLI in a subprocess against the sandbox over HTTP: the slow tier.
pytestmark = pytest.mark.e2e

NEW_PROMPT = "You are the Acme support assistant, now with refunds.\nBe brief."


@pytest.fixture(params=["v2", "v1"])
def box(tmp_path, request):
    b = _box(tmp_path, request.param)
    yield b
    b.server.shutdown()  # type: ignore[attr-defined]


def _write_source(box: Box, prompt: str | None = None, first_message: str | None = None) -> Path:
    raw = json.loads(EXAMPLE.read_text())
    if prompt is not None:
        raw["conversation_config"]["agent"]["prompt"]["prompt"] = prompt
    if first_message is not None:
        raw["conversation_config"]["agent"]["first_message"] = first_message
    path = box.cwd / "agent.json"
    path.write_text(json.dumps(raw))
    return path


def _migrated(box: Box) -> tuple[Path, str]:
    source = _write_source(box)
    first = box.cli("agent", str(source), "--yes")
    assert first.returncode == 0, first.stderr
    (agent,) = box.live_agents()
    return source, agent["id"]


def _dashboard_edit(box: Box, agent_id: str, change: dict) -> None:
    answer = httpx.post(f"{box.url}/_sandbox/atoms/agents/{agent_id}/dashboard-edit", json={"change": change})
    assert answer.status_code == 200, answer.text


def _live(box: Box) -> dict:
    (agent,) = box.live_agents()
    return agent["live_config"]


def _plan(result) -> dict:  # type: ignore[no-untyped-def]
    (agent,) = json.loads(result.stdout)["agents"]
    return agent


def test_a_dashboard_edit_is_drift_with_zero_writes_until_overwrite_is_asked_for(box: Box) -> None:
    source, agent_id = _migrated(box)
    _dashboard_edit(box, agent_id, {"firstMessage": "Edited in the dashboard."})
    writes = box.writes()

    human = box.cli("agent", str(source), "--yes")
    assert human.returncode == 0, human.stderr
    assert "DRIFTED" in human.stdout and "--on-drift overwrite" in human.stdout
    assert "firstMessage" in human.stdout
    as_json = box.cli("agent", str(source), "--yes", "--json")
    plan = _plan(as_json)
    assert plan["sync"] == "drifted" and plan["resolution"] == "keep" and plan["action"] == "no-op"
    assert {
        "path": "firstMessage",
        "published": "Hi {{customer_name}}! I'm the Acme support assistant. How can I help today?",
        "live": "Edited in the dashboard.",
    } in plan["target_edits"]
    assert box.writes() == writes
    assert _live(box)["firstMessage"] == "Edited in the dashboard."

    overwrite = box.cli("agent", str(source), "--yes", "--on-drift", "overwrite", "--json")
    assert overwrite.returncode == 0, overwrite.stderr
    assert _plan(overwrite)["resolution"] == "overwrite"
    assert box.writes() > writes
    assert _live(box)["firstMessage"].startswith("Hi {{customer_name}}!")
    writes = box.writes()
    again = box.cli("agent", str(source), "--yes", "--json")
    assert _plan(again)["sync"] == "in-sync" and box.writes() == writes


def _conflict(
    box: Box, dashboard: dict, source_prompt: str = NEW_PROMPT, first_message: str | None = None
) -> tuple[Path, str, int]:
    source, agent_id = _migrated(box)
    _dashboard_edit(box, agent_id, dashboard)
    _write_source(box, prompt=source_prompt, first_message=first_message)
    return source, agent_id, box.writes()


def test_a_source_edit_plus_a_dashboard_edit_is_a_conflict_that_fails_with_zero_writes(box: Box) -> None:
    source, _, writes = _conflict(box, {"synthesizer": {"speed": 0.8}})
    result = box.cli("agent", str(source), "--yes")
    assert result.returncode == 1
    assert "CONFLICT" in result.stdout and "synthesizer.speed" in result.stdout
    assert "singlePromptConfig.prompt" in result.stdout  # the source's side, not written
    assert "--merge" in result.stderr and "--on-conflict" in result.stderr
    as_json = box.cli("agent", str(source), "--yes", "--json")
    assert as_json.returncode == 1
    plan = _plan(as_json)
    assert plan["sync"] == "conflict" and plan["resolution"] == "fail"
    assert [e["path"] for e in plan["target_edits"]] == ["synthesizer.speed"]
    assert [c["path"] for c in plan["pending_changes"]] == ["singlePromptConfig.prompt"]
    assert box.writes() == writes
    assert _live(box)["singlePromptConfig"]["prompt"] != NEW_PROMPT


def test_merge_writes_only_the_source_fields_and_keeps_the_dashboard_edit(box: Box) -> None:
    source, _, writes = _conflict(box, {"synthesizer": {"speed": 0.8}})
    dry = box.cli("agent", str(source), "--dry-run", "--merge", "--json")
    plan = _plan(dry)
    assert plan["resolution"] == "merge"
    assert [c["path"] for c in plan["changes"]] == ["singlePromptConfig.prompt"]  # field by field
    (draft,) = [s for s in plan["steps"] if s["kind"] == "draft"]
    assert draft["body"] == {"singlePromptConfig": {"prompt": NEW_PROMPT}}
    assert box.writes() == writes

    merged = box.cli("agent", str(source), "--yes", "--merge")
    assert merged.returncode == 0, merged.stderr
    assert "Verified" in merged.stdout
    live = _live(box)
    assert live["singlePromptConfig"]["prompt"] == NEW_PROMPT and live["synthesizer"]["speed"] == 0.8
    writes = box.writes()
    again = box.cli("agent", str(source), "--yes", "--json")
    assert _plan(again)["sync"] == "in-sync" and box.writes() == writes


def test_merge_of_overlapping_fields_is_still_a_conflict(box: Box) -> None:
    source, _, writes = _conflict(box, {"firstMessage": "Dashboard greeting."}, first_message="Source greeting.")
    result = box.cli("agent", str(source), "--yes", "--merge", "--json")
    assert result.returncode == 1
    assert _plan(result)["resolution"] == "fail"
    assert box.writes() == writes


def test_on_conflict_source_reapplies_the_source_over_the_dashboard_edit(box: Box) -> None:
    source, _, writes = _conflict(box, {"synthesizer": {"speed": 0.8}})
    result = box.cli("agent", str(source), "--yes", "--on-conflict", "source")
    assert result.returncode == 0, result.stderr
    live = _live(box)
    assert live["singlePromptConfig"]["prompt"] == NEW_PROMPT and live["synthesizer"]["speed"] == 1.05
    assert box.writes() > writes


def test_on_conflict_target_keeps_the_dashboard_edit_and_records_the_new_source(box: Box) -> None:
    source, _, writes = _conflict(box, {"synthesizer": {"speed": 0.8}})
    result = box.cli("agent", str(source), "--yes", "--on-conflict", "target")
    assert result.returncode == 0, result.stderr
    assert box.writes() == writes
    live = _live(box)
    assert live["synthesizer"]["speed"] == 0.8 and live["singlePromptConfig"]["prompt"] != NEW_PROMPT
    again = box.cli("agent", str(source), "--yes", "--json")  # the edits are the new baseline
    assert again.returncode == 0 and _plan(again)["sync"] == "in-sync"
    assert box.writes() == writes
    _write_source(box, prompt=NEW_PROMPT + "\nAnd be kind.")  # a later source change writes only what changed
    later = box.cli("agent", str(source), "--yes", "--json")
    assert later.returncode == 0, later.stderr
    assert _plan(later)["sync"] == "update" and [c["path"] for c in _plan(later)["changes"]] == [
        "singlePromptConfig.prompt"
    ]
    assert _live(box)["synthesizer"]["speed"] == 0.8


def test_an_older_state_file_is_classified_from_the_published_revision_and_completed(box: Box) -> None:
    source, agent_id = _migrated(box)
    state_path = box.cwd / ".atoms-migrate" / "state.json"
    state = json.loads(state_path.read_text())
    for entry in state["agents"].values():  # as written before the field hashes existed
        entry.pop("planned_fields"), entry.pop("published_fields")
    state_path.write_text(json.dumps(state))
    _dashboard_edit(box, agent_id, {"synthesizer": {"speed": 0.7}})
    writes = box.writes()
    result = box.cli("agent", str(source), "--yes", "--json")
    assert result.returncode == 0, result.stderr
    plan = _plan(result)
    assert plan["sync"] == "drifted"
    assert [e["path"] for e in plan["target_edits"]] == ["synthesizer.speed"]
    assert plan["target_edits"][0]["published"] == 1.05 and plan["target_edits"][0]["live"] == 0.7
    assert box.writes() == writes


def _status(box: Box, *args: str):  # type: ignore[no-untyped-def]
    return box.cli("status", *args)


def test_status_reads_only_and_exits_2_after_drift_or_conflict(box: Box) -> None:
    source, agent_id = _migrated(box)
    in_sync = _status(box, str(source), "--detailed-exitcode")
    assert in_sync.returncode == 0, in_sync.stderr
    assert in_sync.stdout.startswith("in sync ")
    requests = len(box.sandbox.log)
    writes = box.writes()

    _dashboard_edit(box, agent_id, {"synthesizer": {"speed": 0.8}})
    drifted = _status(box, str(source), "--detailed-exitcode")
    assert drifted.returncode == 2
    assert drifted.stdout.startswith("drifted ") and "synthesizer.speed" in drifted.stdout
    _write_source(box, prompt=NEW_PROMPT)
    conflict = _status(box, str(source), "--detailed-exitcode", "--json")
    assert conflict.returncode == 2
    (row,) = json.loads(conflict.stdout)["agents"]
    assert row["status"] == "conflict" and row["source_changes"] == ["singlePromptConfig.prompt"]
    assert [e["path"] for e in row["target_edits"]] == ["synthesizer.speed"]
    assert box.writes() == writes
    assert all(e["method"] == "GET" for e in box.sandbox.log[requests:])
    assert _status(box, str(source)).returncode == 0  # without --detailed-exitcode


def _folder(box: Box) -> tuple[Path, dict]:
    """A folder of three copies of the example, agent_one..agent_three; the last config written is returned."""
    folder = box.cwd / "agents"
    folder.mkdir()
    raw = json.loads(EXAMPLE.read_text())
    for name in ("one", "two", "three"):
        raw["agent_id"], raw["name"] = f"agent_{name}", f"Agent {name}"
        (folder / f"{name}.json").write_text(json.dumps(raw))
    return folder, raw


def test_status_of_a_directory_says_source_changed_not_migrated_and_target_missing(box: Box) -> None:
    folder, raw = _folder(box)
    first = box.cli("all", str(folder), "--yes", "--exclude", "three")
    assert first.returncode == 0, first.stderr
    raw["agent_id"], raw["name"] = "agent_one", "Agent one renamed"
    (folder / "one.json").write_text(json.dumps(raw))
    state = json.loads((box.cwd / ".atoms-migrate" / "state.json").read_text())
    archived = state["agents"]["agent_two"]["smallest_agent_id"]
    assert (
        httpx.delete(
            f"{box.url}/atoms/v1/agent/{archived}/archive",
            headers={"Authorization": f"Bearer {box.env['SMALLEST_API_KEY']}"},
        ).status_code
        == 200
    )
    result = _status(box, str(folder), "--json", "--detailed-exitcode")
    assert result.returncode == 2, result.stderr
    statuses = {row["key"]: row["status"] for row in json.loads(result.stdout)["agents"]}
    assert statuses == {"agent_one": "update", "agent_two": "target-missing", "agent_three": "not-migrated"}
    human = _status(box, str(folder))
    assert "source changed " in human.stdout and "target missing " in human.stdout and "not migrated " in human.stdout


def test_a_batch_keeps_a_drifted_agent_fails_a_conflict_and_goes_on(box: Box) -> None:
    folder, raw = _folder(box)
    assert box.cli("all", str(folder), "--yes").returncode == 0
    ids = {
        k: v["smallest_agent_id"]
        for k, v in json.loads((box.cwd / ".atoms-migrate" / "state.json").read_text())["agents"].items()
    }
    _dashboard_edit(box, ids["agent_one"], {"firstMessage": "Dashboard greeting."})
    _dashboard_edit(box, ids["agent_two"], {"synthesizer": {"speed": 0.8}})
    raw["agent_id"], raw["name"] = "agent_two", "Agent two"
    raw["conversation_config"]["agent"]["prompt"]["prompt"] = NEW_PROMPT
    (folder / "two.json").write_text(json.dumps(raw))
    raw["agent_id"], raw["name"] = "agent_three", "Agent three"
    (folder / "three.json").write_text(json.dumps(raw))  # a plain update
    writes = len(box.sandbox.writes())
    result = box.cli("all", str(folder), "--yes", "--json")
    assert result.returncode == 1
    plans = {a["source"]["key"]: a for a in json.loads(result.stdout)["agents"]}
    assert {k: p["sync"] for k, p in plans.items()} == {
        "agent_one": "drifted",
        "agent_two": "conflict",
        "agent_three": "update",
    }
    written = {e["path"].split("/")[4] for e in box.sandbox.writes()[writes:]}  # /atoms/v1/agent/{id}/...
    assert written == {ids["agent_three"]}
    merged = box.cli("all", str(folder), "--yes", "--merge")
    assert merged.returncode == 0, merged.stderr + merged.stdout
    assert "drifted" in merged.stderr + merged.stdout
    status = box.cli("status", str(folder), "--json", "--detailed-exitcode")
    assert status.returncode == 2  # agent one stays drifted: its edits were kept
    assert {r["key"]: r["status"] for r in json.loads(status.stdout)["agents"]} == {
        "agent_one": "drifted",
        "agent_two": "in-sync",
        "agent_three": "in-sync",
    }


def test_an_older_state_entry_in_sync_gets_its_field_hashes_recorded(box: Box) -> None:
    source, _ = _migrated(box)
    state_path = box.cwd / ".atoms-migrate" / "state.json"
    state = json.loads(state_path.read_text())
    (entry,) = state["agents"].values()
    recorded = (entry.pop("planned_fields"), entry.pop("published_fields"))
    state_path.write_text(json.dumps(state))
    writes = box.writes()
    result = box.cli("agent", str(source), "--yes", "--json")
    assert result.returncode == 0 and _plan(result)["sync"] == "in-sync" and box.writes() == writes
    (entry,) = json.loads(state_path.read_text())["agents"].values()
    assert (entry["planned_fields"], entry["published_fields"]) == recorded


def test_a_saved_plan_applies_with_the_sync_settings_it_was_made_with(box: Box) -> None:
    source, agent_id = _conflict(box, {"synthesizer": {"speed": 0.8}})[:2]
    saved = box.cwd / "plan.json"
    planned = box.cli("agent", str(source), "--dry-run", "--merge", "--out", str(saved))
    assert planned.returncode == 0, planned.stderr
    assert json.loads(saved.read_text())["settings"]["merge"] is True
    applied = box.cli("apply", str(saved), "--yes", "--json")
    assert applied.returncode == 0, applied.stderr
    live = _live(box)
    assert live["singlePromptConfig"]["prompt"] == NEW_PROMPT and live["synthesizer"]["speed"] == 0.8
    _dashboard_edit(box, agent_id, {"firstMessage": "Another dashboard edit."})  # after planning: refused
    assert box.cli("agent", str(source), "--dry-run", "--out", str(saved)).returncode == 0
    _dashboard_edit(box, agent_id, {"synthesizer": {"speed": 0.9}})
    writes = box.writes()
    refused = box.cli("apply", str(saved), "--yes")
    assert refused.returncode == 1 and "changed since planning" in refused.stderr + refused.stdout
    assert box.writes() == writes
