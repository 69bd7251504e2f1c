"""Batch runs end to end: the installed CLI's `all` and `apply` against the sandbox over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import EXAMPLE, EXE
from test_e2e import Box, _box

from atoms_migrate.sandbox.server import Sandbox

# Runs the installed CLI in a subprocess against the sandbox over HTTP: the slow tier.
pytestmark = pytest.mark.e2e


@pytest.fixture
def box(tmp_path):
    b = _box(tmp_path)
    yield b
    b.server.shutdown()  # type: ignore[attr-defined]


def write_agents(folder: Path, count: int, **changes) -> list[Path]:
    """``count`` agent files of our own, from the example, each with its own name."""
    folder.mkdir(exist_ok=True)
    paths = []
    for i in range(count):
        raw = json.loads(EXAMPLE.read_text())
        raw.pop("agent_id", None)
        raw["name"] = f"Batch agent {i:02d}"
        raw["conversation_config"]["agent"]["prompt"].pop("knowledge_base", None)
        raw["conversation_config"]["agent"]["prompt"]["prompt"] += changes.get(f"prompt_{i}", "")
        path = folder / f"agent{i:02d}.json"
        path.write_text(json.dumps(raw))
        paths.append(path)
    return paths


def test_directory_batch_creates_every_agent_then_reruns_with_no_writes(box) -> None:
    write_agents(box.cwd / "agents", 5)
    (box.cwd / "agents" / "notes.json").write_text('{"hello": "not an agent"}')
    first = box.cli("all", "agents", "--yes", "--concurrency", "3", "--junit", "junit.xml")
    assert first.returncode == 0, first.stderr
    assert len(box.live_agents()) == 5
    assert "notes: skipped" in first.stderr and "5 created" in first.stdout + first.stderr
    suite = ET.parse(box.cwd / "junit.xml").getroot()
    assert suite.get("tests") == "5" and suite.get("failures") == "0"
    writes = box.writes()
    again = box.cli("all", "agents", "--yes")
    assert again.returncode == 0 and "Nothing to do" in again.stderr
    assert box.writes() == writes


def test_one_failing_agent_is_isolated_and_fails_the_run(box) -> None:
    write_agents(box.cwd / "agents", 4, prompt_2=" [sandbox:fail-scan]")
    run = box.cli("all", "agents", "--yes", "--json", "--junit", "junit.xml")
    assert run.returncode == 1, run.stderr
    doc = json.loads(run.stdout)
    statuses = sorted(a["status"] for a in doc["apply"])
    assert statuses == ["created", "created", "created", "failed"]
    failed = [c for c in ET.parse(box.cwd / "junit.xml").getroot().iter("testcase") if c.find("failure") is not None]
    assert len(failed) == 1 and "security scan" in failed[0].find("failure").get("message")


def test_an_agent_with_error_findings_is_refused_and_the_others_go_on(box) -> None:
    paths = write_agents(box.cwd / "agents", 3)
    raw = json.loads(paths[1].read_text())
    raw["conversation_config"]["agent"]["prompt"]["prompt"] = "!include prompts/agent01.md"  # no prompt: an error
    paths[1].write_text(json.dumps(raw))
    plan = box.cli("all", "agents", "--dry-run")
    assert plan.returncode == 0 and "Batch agent 01: without --allow-errors an apply would be refused" in plan.stderr
    run = box.cli("all", "agents", "--yes", "--json", "--junit", "junit.xml")
    assert run.returncode == 1, run.stderr
    assert "Batch agent 01: refused: the plan has 1 error finding(s)" in run.stderr and "No system prompt" in run.stderr
    doc = json.loads(run.stdout)
    assert sorted(a["status"] for a in doc["apply"]) == ["created", "created"]
    assert [p["status"] for p in doc["problems"]] == ["failed"] and "--allow-errors" in doc["problems"][0]["hint"]
    assert sorted(a["name"] for a in box.live_agents()) == ["Batch agent 00", "Batch agent 02"]
    failed = [c for c in ET.parse(box.cwd / "junit.xml").getroot().iter("testcase") if c.find("failure") is not None]
    assert len(failed) == 1
    allowed = box.cli("all", "agents", "--yes", "--allow-errors")
    assert allowed.returncode == 0, allowed.stderr
    assert len(box.live_agents()) == 3
    writes = box.writes()
    again = box.cli("all", "agents", "--yes")  # live and unchanged: nothing to write, so nothing to refuse
    assert again.returncode == 0 and "Nothing to do" in again.stderr and box.writes() == writes


def test_a_saved_plan_with_error_findings_is_refused_unless_allowed(box) -> None:
    paths = write_agents(box.cwd / "agents", 2)
    raw = json.loads(paths[0].read_text())
    raw["conversation_config"]["agent"]["language"] = "sw"  # a primary language Atoms cannot speak: an error
    paths[0].write_text(json.dumps(raw))
    assert box.cli("all", "agents", "--dry-run", "--out", "plan.json").returncode == 0
    refused = box.cli("apply", "plan.json", "--yes")
    assert refused.returncode == 1 and "Batch agent 00: refused" in refused.stderr
    assert [a["name"] for a in box.live_agents()] == ["Batch agent 01"]
    allowed = box.cli("apply", "plan.json", "--yes", "--allow-errors")
    assert "Batch agent 00: created" in allowed.stderr  # (agent 01 went live since planning: refused as stale)
    assert len(box.live_agents()) == 2


def test_two_sources_with_the_same_name_both_go_live_and_rerun_as_no_ops(box) -> None:
    paths = write_agents(box.cwd / "agents", 2)
    for path in paths:  # prod and dev copies of one agent
        raw = json.loads(path.read_text())
        raw["name"] = "Support"
        path.write_text(json.dumps(raw))
    plan = box.cli("all", "agents", "--dry-run", "--json")
    names = {a["source"]["key"]: a["target"]["config"]["name"] for a in json.loads(plan.stdout)["agents"]}
    assert names == {"file:agents/agent00.json": "Support", "file:agents/agent01.json": "Support (2)"}
    first = box.cli("all", "agents", "--yes")
    assert first.returncode == 0, first.stderr
    assert sorted(a["name"] for a in box.live_agents()) == ["Support", "Support (2)"]
    state = json.loads((box.cwd / ".atoms-migrate" / "state.json").read_text())
    assert {k: v["name"] for k, v in state["agents"].items()} == names
    writes = box.writes()
    again = box.cli("all", "agents", "--yes")
    assert again.returncode == 0 and "Nothing to do" in again.stderr and box.writes() == writes
    # One at a time with `agent`: the server's own suffix is accepted, recorded, and not renamed back.
    single = box.cwd / "single.json"
    raw = json.loads(paths[0].read_text())
    raw["name"] = "Support"
    single.write_text(json.dumps(raw))
    alone = box.cli("agent", "single.json", "--yes")
    assert alone.returncode == 0, alone.stderr + alone.stdout
    assert sorted(a["name"] for a in box.live_agents()) == ["Support", "Support (2)", "Support (3)"]
    writes = box.writes()
    rerun = box.cli("agent", "single.json", "--yes")
    assert rerun.returncode == 0 and "Nothing to do" in rerun.stderr and box.writes() == writes


def test_account_batch_with_filters_and_shards(box) -> None:
    for i, tags in enumerate([["support"], ["sales"], ["support", "vip"], []]):
        raw = json.loads(EXAMPLE.read_text())
        raw.pop("agent_id", None)
        raw["name"], raw["tags"] = f"Account agent {i}", tags
        box.sandbox.elevenlabs.add_agent(raw, f"agent_account{i:04d}")
    support = box.cli("all", "--dry-run", "--json", "--tag", "support", "--exclude", "agent_account0002")
    assert [a["source"]["key"] for a in json.loads(support.stdout)["agents"]] == ["agent_account0000"]
    keys = []
    for shard in ("1/2", "2/2"):
        part = box.cli("all", "--dry-run", "--json", "--shard", shard)
        assert part.returncode == 0, part.stderr
        keys.append({a["source"]["key"] for a in json.loads(part.stdout)["agents"]})
    assert keys[0] | keys[1] == {f"agent_account{i:04d}" for i in range(4)} and not keys[0] & keys[1]


def test_saved_plan_applies_exactly_and_refuses_what_changed(box) -> None:
    paths = write_agents(box.cwd / "agents", 3)
    saved = box.cli("all", "agents", "--dry-run", "--out", "plan.json")
    assert saved.returncode == 0, saved.stderr
    doc = json.loads((box.cwd / "plan.json").read_text())
    assert doc["kind"] == "atoms-migrate-saved-plan" and len(doc["agents"]) == 3
    raw = json.loads(paths[1].read_text())
    raw["conversation_config"]["agent"]["first_message"] = "Changed after planning."
    paths[1].write_text(json.dumps(raw))
    applied = box.cli("apply", "plan.json", "--yes")
    assert applied.returncode == 1
    assert "Batch agent 01: failed (refused: its source changed since planning)" in applied.stderr
    assert len(box.live_agents()) == 2
    # A plan made against a live revision is refused once another revision went live.
    box.cli("all", "agents", "--dry-run", "--out", "plan2.json")
    paths[0].write_text(paths[0].read_text().replace("Acme", "Acme Corp"))
    assert box.cli("all", "agents", "--yes", "--only", "agent00").returncode == 0
    paths[0].write_text(paths[0].read_text().replace("Acme Corp", "Acme"))
    stale = box.cli("apply", "plan2.json", "--yes")
    assert "Batch agent 00: failed (refused: the target's live revision changed since planning" in stale.stderr


def test_github_annotations_are_capped_at_ten_per_level(box) -> None:
    write_agents(box.cwd / "agents", 12, **{f"prompt_{i}": "" for i in range(12)})
    for path in (box.cwd / "agents").glob("*.json"):
        raw = json.loads(path.read_text())
        raw["conversation_config"]["agent"]["language"] = "fr"  # an error finding per agent
        path.write_text(json.dumps(raw))
    run = box.cli("all", "agents", "--dry-run", env={"GITHUB_ACTIONS": "true"})
    errors = [line for line in run.stderr.splitlines() if line.startswith("::error")]
    assert len(errors) == 10 and "more error(s) not shown" in errors[-1]


def finished(state: dict) -> set[str]:
    """Keys of the state entries whose apply finished (no draft of ours still open)."""
    return {k for k, v in state.get("agents", {}).items() if not v.get("open_draft")}


def test_kill_minus_9_then_the_same_command_finishes_without_duplicates(tmp_path) -> None:
    sandbox = Sandbox(latency=0.05)
    server = sandbox.serve()
    try:
        box = Box(sandbox, f"http://127.0.0.1:{server.server_address[1]}", tmp_path)
        write_agents(tmp_path / "agents", 8)
        env = {**os.environ, **box.env, "NO_COLOR": "1"}
        proc = subprocess.Popen(
            [str(EXE), "all", "agents", "--yes", "--concurrency", "1"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        state = tmp_path / ".atoms-migrate" / "state.json"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if state.exists() and len(finished(json.loads(state.read_text()))) >= 2:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done = finished(json.loads(state.read_text()))  # an entry with an open draft is one the kill interrupted
        assert 2 <= len(done) < 8
        done_ids = {json.loads(state.read_text())["agents"][k]["smallest_agent_id"] for k in done}
        before = len(sandbox.log)
        again = box.cli("all", "agents", "--yes", "--concurrency", "4")
        assert again.returncode == 0, again.stderr
        live = box.live_agents()
        assert len(live) == 8 and len({a["name"] for a in live}) == 8
        later = sandbox.log[before:]
        assert not [e for e in later if e["method"] != "GET" and any(i in e["path"] for i in done_ids)], (
            "finished agents were written again"
        )
    finally:
        server.shutdown()


def test_apply_asks_for_the_secrets_the_plan_was_made_with(box) -> None:
    write_agents(box.cwd / "agents", 1)
    assert (
        box.cli("all", "agents", "--dry-run", "--out", "plan.json", "--secret", "CRM_TOKEN=s3cret-value-1").returncode
        == 0
    )
    assert "s3cret-value-1" not in (box.cwd / "plan.json").read_text()
    refused = box.cli("apply", "plan.json", "--yes")
    assert refused.returncode == 1 and "CRM_TOKEN" in refused.stderr and box.writes() == 0
    applied = box.cli("apply", "plan.json", "--yes", env={"ATOMS_MIGRATE_SECRET_CRM_TOKEN": "s3cret-value-1"})
    assert applied.returncode == 0, applied.stderr


def test_agents_sharing_a_voice_get_one_clone_even_concurrently(box) -> None:
    from test_e2e import _wav

    box.sandbox.elevenlabs.add_voice(
        {"voice_id": "teamVoice00000000001", "name": "Team", "category": "cloned", "labels": {"gender": "female"}},
        audio=_wav(8),
        mime_type="audio/wav",
    )
    for path in write_agents(box.cwd / "agents", 3):
        raw = json.loads(path.read_text())
        raw["conversation_config"]["tts"]["voice_id"] = "teamVoice00000000001"
        path.write_text(json.dumps(raw))
    run = box.cli("all", "agents", "--yes", "--clone-voices", "--concurrency", "3")
    assert run.returncode == 0, run.stderr
    [clone_id] = list(box.sandbox.atoms.resources.clones)
    assert {a["live_config"]["synthesizer"]["voiceConfig"]["voiceId"] for a in box.live_agents()} == {clone_id}
