"""What the reference leaves open, rehearsed end to end: the installed CLI against sandbox behaviours.

Each sandbox behaviour (``sandbox.atoms.BEHAVIOURS``) is one reading of an unproven point of
the Atoms API; the CLI must come out right under each: learn the write form and remember it,
report what cannot be written, refuse to overwrite a concurrent edit, and stop a batch at a
failed canary.
"""

from __future__ import annotations

import json

import httpx
import pytest
from conftest import EXAMPLE
from test_batch_e2e import write_agents
from test_e2e import _box

# Runs the installed CLI in a subprocess against the sandbox over HTTP: the slow tier.
pytestmark = pytest.mark.e2e


@pytest.fixture
def box(tmp_path):
    b = _box(tmp_path)
    yield b
    b.server.shutdown()  # type: ignore[attr-defined]


def _behave(box, *names: str) -> None:
    """Switch the fake account's behaviours through the sandbox's control route, as a user would."""
    answer = httpx.post(f"{box.url}/_sandbox/atoms/behaviours", json={"behaviours": list(names)})
    assert answer.status_code == 200, answer.text


def _state(box) -> dict:
    return json.loads((box.cwd / ".atoms-migrate" / "state.json").read_text())


def _live(box) -> dict:
    (agent,) = box.live_agents()
    return agent


def test_unknown_behaviour_is_refused(box) -> None:
    answer = httpx.post(f"{box.url}/_sandbox/atoms/behaviours", json={"behaviours": ["telepathy"]})
    assert answer.status_code == 400 and "unknown sandbox behaviour" in answer.text


def test_prompt_not_kept_in_single_prompt_config_is_written_via_global_prompt_and_remembered(box) -> None:
    _behave(box, "prompt-in-global-prompt")
    run = box.cli("agent", str(EXAMPLE), "--yes", "--json")
    assert run.returncode == 0, run.stderr
    assert "prompt written via globalPrompt on this account: singlePromptConfig.prompt was not kept" in run.stderr
    (applied,) = json.loads(run.stdout)["apply"]
    assert applied["verified"] and any("globalPrompt" in w for w in applied["warnings"])
    assert _state(box)["write_forms"] == {"prompt": "globalPrompt"}
    live = _live(box)["live_config"]
    assert live["globalPrompt"].startswith("You are the Acme support assistant")
    again = box.cli("agent", str(EXAMPLE), "--yes")
    assert again.returncode == 0 and "Nothing to do" in again.stderr


def test_post_call_analytics_ignored_on_v2_is_reported_and_remembered(box) -> None:
    _behave(box, "ignore-post-call-analytics")
    run = box.cli("agent", str(EXAMPLE), "--yes")
    assert run.returncode == 0, run.stderr
    assert "postCallAnalyticsConfig was not kept on this account; reported instead of written" in run.stderr
    assert _state(box)["write_forms"] == {"post-call analytics": "not accepted"}


def test_a_concurrent_edit_is_reported_with_what_changed_and_never_overwritten(box) -> None:
    assert box.cli("agent", str(EXAMPLE), "--yes").returncode == 0
    before = _live(box)["live_config"]["firstMessage"]
    raw = json.loads(EXAMPLE.read_text())
    raw["conversation_config"]["agent"]["first_message"] = "Ours."
    (box.cwd / "changed.json").write_text(json.dumps(raw))
    _behave(box, "concurrent-edit")
    direct = box.cli("agent", "changed.json", "--yes", "--direct")
    assert direct.returncode == 1
    assert "someone else changed this agent's draft" in direct.stderr and "firstMessage" in direct.stderr
    assert "planned again against the new head" in direct.stderr
    assert _live(box)["live_config"]["firstMessage"] == before


def test_a_live_agent_is_staged_proven_and_made_live(box) -> None:
    assert box.cli("agent", str(EXAMPLE), "--yes").returncode == 0
    raw = json.loads(EXAMPLE.read_text())
    raw["conversation_config"]["agent"]["first_message"] = "Ours."
    (box.cwd / "changed.json").write_text(json.dumps(raw))
    run = box.cli("agent", "changed.json", "--yes", "--json")
    assert run.returncode == 0, run.stderr
    (applied,) = json.loads(run.stdout)["apply"]
    assert applied["staged"] and applied["live"] and applied["branch_name"].startswith("atoms-migrate-staging-")
    assert _live(box)["live_config"]["firstMessage"] == "Ours."
    rollback = box.cli("rollback", "changed.json", "--yes")
    assert rollback.returncode == 0, rollback.stderr
    assert _live(box)["live_config"]["firstMessage"] != "Ours."


def test_a_failed_canary_stops_the_batch_before_any_other_agent(box) -> None:
    write_agents(box.cwd / "agents", 3, prompt_0=" [sandbox:fail-scan]")
    run = box.cli("all", "agents", "--yes", "--json")
    assert run.returncode == 1
    doc = json.loads(run.stdout)
    assert [a["status"] for a in doc["apply"]] == ["failed"]
    skipped = [p for p in doc["problems"] if p["status"] == "skipped"]
    assert len(skipped) == 2 and all("the canary Batch agent 00 failed" in p["message"] for p in skipped)
    assert "Canary Batch agent 00 failed" in run.stderr
    assert len(box.live_agents()) == 1
    chosen = box.cli("all", "agents", "--yes", "--canary", "agent01.json")
    assert "Canary: migrating Batch agent 01" in chosen.stderr


def test_no_canary_applies_every_agent(box) -> None:
    write_agents(box.cwd / "agents", 3, prompt_0=" [sandbox:fail-scan]")
    run = box.cli("all", "agents", "--yes", "--no-canary")
    assert run.returncode == 1 and "Canary" not in run.stderr
    assert len(box.live_agents()) == 3


def test_a_pro_voice_needing_the_pro_model_field_gets_it_and_the_account_remembers(box) -> None:
    from conftest import ROOT

    mappings = box.cwd / "mappings"
    mappings.mkdir()
    table = (ROOT / "mappings" / "voices.yaml").read_text()
    (mappings / "voices.yaml").write_text(
        table.replace('elevenlabs_name: "Rachel"\n    target: rachel', 'elevenlabs_name: "Rachel"\n    target: sophie')
    )
    _behave(box, "pro-voice-model")
    run = box.cli("agent", str(EXAMPLE), "--yes", "--mappings", str(mappings))
    assert run.returncode == 0, run.stderr
    assert "pro voice model written via voiceConfig.modelId on this account: voice id only was not kept" in run.stderr
    assert _state(box)["write_forms"] == {"pro voice model": "voiceConfig.modelId"}
    voice = _live(box)["live_config"]["synthesizer"]["voiceConfig"]
    assert voice["voiceId"] == "sophie" and voice["modelId"] == "lightning-v3.1-pro"


def test_a_staged_update_that_differs_is_kept_off_live_and_promote_can_still_make_it_live(box) -> None:
    assert box.cli("agent", str(EXAMPLE), "--yes").returncode == 0
    before = _live(box)["live_config"]["firstMessage"]
    raw = json.loads(EXAMPLE.read_text())
    raw["conversation_config"]["agent"]["first_message"] = "Ours."
    raw["conversation_config"]["agent"]["prompt"]["prompt"] += " Be kind."
    (box.cwd / "changed.json").write_text(json.dumps(raw))
    httpx.post(f"{box.url}/_sandbox/atoms/ignore-fields", json={"fields": ["firstMessage"]}).raise_for_status()
    run = box.cli("agent", "changed.json", "--yes")
    assert run.returncode == 1
    assert "the live branch was left untouched" in run.stderr and "firstMessage" in run.stdout
    assert _live(box)["live_config"]["firstMessage"] == before
    entry = next(iter(_state(box)["agents"].values()))
    assert entry["live"] is False and entry["branch_name"].startswith("atoms-migrate-staging-")
    promote = box.cli("promote", "changed.json", "--yes")
    assert promote.returncode == 0, promote.stderr
    assert "Be kind." in _live(box)["live_config"]["singlePromptConfig"]["prompt"]
