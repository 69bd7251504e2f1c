"""End to end: the installed CLI as a subprocess against the sandbox served over HTTP.

Each test gets a fresh ``Sandbox`` on 127.0.0.1 and drives ``atoms-migrate`` exactly as a
CI job would (``--yes``, no terminal), then inspects the fake's state and request log:
how many agents exist, and whether any write request was sent at all.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from conftest import CORPUS, EXAMPLE, EXE, run_installed
from test_corpus import FILES, NOT_AGENTS

from atoms_migrate.plan.planner import plan_agent
from atoms_migrate.sandbox.server import ATOMS_KEY, ELEVENLABS_KEY, Sandbox
from atoms_migrate.source.shapes import normalise, read_config_file

# Runs the installed CLI in a subprocess against the sandbox over HTTP: the slow tier.
pytestmark = pytest.mark.e2e


class Box:
    def __init__(self, sandbox: Sandbox, url: str, cwd: Path) -> None:
        self.sandbox, self.url, self.cwd = sandbox, url, cwd
        self.env = {
            "SMALLEST_BASE_URL": url,
            "SMALLEST_API_KEY": ATOMS_KEY,
            "ELEVENLABS_BASE_URL": url,
            "ELEVENLABS_API_KEY": ELEVENLABS_KEY,
        }

    def cli(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_installed(*args, cwd=self.cwd, env={**self.env, **(env or {})})

    def writes(self) -> int:
        return len(self.sandbox.writes())

    def live_agents(self) -> list[dict]:
        return [a for a in self.sandbox.atoms.summary() if not a["archived"]]


def _box(tmp_path: Path, versioning: str = "v2") -> Box:
    sandbox = Sandbox(versioning=versioning)
    server = sandbox.serve()
    box = Box(sandbox, f"http://127.0.0.1:{server.server_address[1]}", tmp_path)
    box.server = server  # type: ignore[attr-defined]
    return box


@pytest.fixture
def box(tmp_path):
    b = _box(tmp_path)
    yield b
    b.server.shutdown()  # type: ignore[attr-defined]


@pytest.fixture
def box_v1(tmp_path):
    b = _box(tmp_path, "v1")
    yield b
    b.server.shutdown()  # type: ignore[attr-defined]


def _copy_example(box: Box, **agent_changes) -> Path:
    raw = json.loads(EXAMPLE.read_text())
    raw["conversation_config"]["agent"].update(agent_changes)
    path = box.cwd / "agent.json"
    path.write_text(json.dumps(raw))
    return path


AGENTS = [f for f in FILES if f.name not in NOT_AGENTS]


@pytest.mark.skipif(not AGENTS, reason=f"corpus not found at {CORPUS} (clone with ../shared beside it)")
@pytest.mark.parametrize("file", AGENTS, ids=[f.name for f in AGENTS])
def test_corpus_agent_migrates_verifies_and_reruns_as_no_op(box, file: Path, tables) -> None:
    has_errors = bool(plan_agent(normalise(read_config_file(file), file.name, path=str(file)), tables).errors())
    if has_errors:  # refused by default: nothing written, the errors named
        refused = box.cli("agent", str(file), "--yes")
        assert refused.returncode == 1 and "refused: the plan has" in refused.stderr, refused.stderr
        assert "--allow-errors" in refused.stderr and box.writes() == 0
    first = box.cli("agent", str(file), "--yes", "--allow-errors")
    assert first.returncode == 0, first.stderr + first.stdout
    assert "Verified: the config read back from Atoms matches the plan." in first.stdout
    writes = box.writes()
    again = box.cli("agent", str(file), "--yes")
    assert again.returncode == 0, again.stderr
    assert "Nothing to do" in again.stderr
    assert box.writes() == writes
    assert len(box.live_agents()) == 1


def test_agent_by_id_reads_elevenlabs_and_shares_the_file_identity(box) -> None:
    agent_id = box.sandbox.elevenlabs.add_agent(json.loads(EXAMPLE.read_text()))
    by_id = box.cli("agent", agent_id, "--yes", "--json")
    assert by_id.returncode == 0, by_id.stderr
    doc = json.loads(by_id.stdout)
    assert doc["apply"][0]["verified"] is True and doc["apply"][0]["created"] is True
    by_file = box.cli("agent", str(EXAMPLE), "--yes")
    assert "Nothing to do" in by_file.stderr and len(box.live_agents()) == 1
    state = json.loads((box.cwd / ".atoms-migrate" / "state.json").read_text())
    assert list(state["agents"]) == [agent_id]
    assert ATOMS_KEY not in json.dumps(state) and ELEVENLABS_KEY not in json.dumps(state)


def test_dry_run_sends_no_write_request(box) -> None:
    plan_only = box.cli("agent", str(EXAMPLE), "--dry-run", "--detailed-exitcode")
    assert plan_only.returncode == 2 and box.writes() == 0 and box.live_agents() == []
    assert box.cli("agent", str(EXAMPLE), "--yes").returncode == 0
    writes = box.writes()
    changed = _copy_example(box, first_message="A new greeting.")
    box.sandbox.log.clear()
    diff = box.cli("agent", str(changed), "--dry-run", "--detailed-exitcode", "--json")
    assert diff.returncode == 2, diff.stderr
    plan = json.loads(diff.stdout)["agents"][0]
    assert plan["action"] == "update"
    assert [c["path"] for c in plan["changes"]] == ["firstMessage"]
    assert box.writes() == 0 and all(e["method"] == "GET" for e in box.sandbox.log)
    assert writes > 0


def test_source_change_updates_the_same_agent(box) -> None:
    path = _copy_example(box)
    assert box.cli("agent", str(path), "--yes").returncode == 0
    path = _copy_example(box, first_message="Updated greeting.")
    update = box.cli("agent", str(path), "--yes")
    assert update.returncode == 0, update.stderr
    assert "~ update agent" in update.stdout and "Verified" in update.stdout
    (agent,) = box.live_agents()
    assert agent["live_config"]["firstMessage"] == "Updated greeting."


def test_injected_faults_leave_exactly_one_agent(box) -> None:
    box.sandbox.add_fault(method="POST", path=r"/atoms/v1/agent$", action="commit_then_500")
    box.sandbox.add_fault(method="GET", path=r"/branches$", status=429, headers={"Retry-After": "0"})
    box.sandbox.add_fault(method="PUT", path=r"/draft$", action="drop")
    box.sandbox.add_fault(method="GET", path=r"/revisions", status=503, headers={"retry-after-ms": "10"})
    result = box.cli("agent", str(EXAMPLE), "--yes")
    assert result.returncode == 0, result.stderr
    assert "the create had committed" in result.stderr
    assert len(box.sandbox.atoms.agents) == 1


def test_v1_account(box_v1) -> None:
    result = box_v1.cli("agent", str(EXAMPLE), "--yes", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["apply"][0]["versioning"] == "v1"
    assert "Nothing to do" in box_v1.cli("agent", str(EXAMPLE), "--yes").stderr


def test_without_a_terminal_and_without_yes_nothing_is_written(box) -> None:
    result = box.cli("agent", str(EXAMPLE))
    assert result.returncode == 1
    assert "no terminal to ask on" in result.stderr and "--yes" in result.stderr
    assert box.writes() == 0


def test_read_back_difference_fails_the_run(box) -> None:
    # Tools have one certain write form: when they do not stick there is nothing else to try.
    box.sandbox.atoms.ignored_draft_fields = {"singlePromptConfig"}
    result = box.cli("agent", str(EXAMPLE), "--yes")
    assert result.returncode == 1
    assert "Verification FAILED" in result.stdout
    assert "singlePromptConfig.tools" in result.stdout


def test_open_draft_is_refused_unless_forced(box) -> None:
    assert box.cli("agent", str(EXAMPLE), "--yes").returncode == 0
    (agent,) = box.live_agents()
    box.sandbox.atoms.open_foreign_draft(agent["id"], {"firstMessage": "Colleague."})
    path = _copy_example(box, first_message="Ours.")
    refused = box.cli("agent", str(path), "--yes")
    assert refused.returncode == 1 and "open draft" in refused.stderr and "--force" in refused.stderr
    forced = box.cli("agent", str(path), "--yes", "--force")
    assert forced.returncode == 0, forced.stderr


def test_stage_promote_and_roll_back(box) -> None:
    path = _copy_example(box)
    assert box.cli("agent", str(path), "--yes").returncode == 0
    path = _copy_example(box, first_message="Staged.")
    staged = box.cli("agent", str(path), "--yes", "--branch", "migration")
    assert staged.returncode == 0, staged.stderr
    assert "staged, not live" in staged.stdout and f"atoms-migrate promote {path}" in staged.stdout
    assert box.live_agents()[0]["live_config"]["firstMessage"] != "Staged."
    promoted = box.cli("promote", str(path), "--yes")
    assert promoted.returncode == 0, promoted.stderr
    assert box.live_agents()[0]["live_config"]["firstMessage"] == "Staged."
    rolled = box.cli("rollback", str(path), "--yes")
    assert rolled.returncode == 0, rolled.stderr
    assert box.live_agents()[0]["live_config"]["firstMessage"] != "Staged."


def test_rollback_of_an_update_restores_and_of_a_create_archives(box) -> None:
    path = _copy_example(box, first_message="First.")
    assert box.cli("agent", str(path), "--yes").returncode == 0
    path = _copy_example(box, first_message="Second.")
    assert box.cli("agent", str(path), "--yes").returncode == 0
    assert box.cli("rollback", str(path), "--yes").returncode == 0
    assert box.live_agents()[0]["live_config"]["firstMessage"] == "First."
    again = box.cli("rollback", str(path), "--yes")
    assert again.returncode == 1 and "nothing to roll back" in again.stderr
    fresh = box.cwd / "fresh.json"
    raw = json.loads(EXAMPLE.read_text())
    raw.pop("agent_id")
    raw["name"] = "Fresh"
    fresh.write_text(json.dumps(raw))
    assert box.cli("agent", str(fresh), "--yes").returncode == 0
    assert len(box.live_agents()) == 2
    archived = box.cli("rollback", str(fresh), "--yes")
    assert archived.returncode == 0, archived.stderr
    assert [a["name"] for a in box.live_agents()] == ["Support Agent"]


@pytest.mark.skipif(EXE is None, reason="console script not installed")
def test_sandbox_command_serves_and_prints_the_env_to_export(tmp_path) -> None:
    proc = subprocess.Popen(
        [EXE, "sandbox", "--port", "0", "--seed", str(EXAMPLE)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [proc.stdout.readline() for _ in range(8)]  # type: ignore[union-attr]
        exports = dict(line[len("export ") :].strip().split("=", 1) for line in lines if line.startswith("export "))
        assert exports["SMALLEST_API_KEY"] == ATOMS_KEY and exports["SMALLEST_REALTIME_URL"].startswith(
            "ws://127.0.0.1:"
        )
        assert "agent_0000example0support0000000" in "".join(lines)
        deadline = time.monotonic() + 10
        while True:
            try:
                state = httpx.get(exports["SMALLEST_BASE_URL"] + "/_sandbox/state", timeout=2).json()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert state["elevenlabs_agents"] == ["agent_0000example0support0000000"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_dry_run_diff_survives_state_loss(box) -> None:
    assert box.cli("agent", str(EXAMPLE), "--yes").returncode == 0
    (box.cwd / ".atoms-migrate" / "state.json").unlink()
    result = box.cli("agent", str(EXAMPLE), "--dry-run", "--json")
    plan = json.loads(result.stdout)["agents"][0]
    assert plan["action"] == "no-op" and plan["target"]["agent_id"] == box.live_agents()[0]["id"]
    assert any("marker" in n for n in plan["source"]["notes"])


CAL_DEMO = CORPUS / "devrchancay__elevenlabs-cal-demo__agendador-es.json"
TALKCRM = CORPUS / "adamanz__TalkCRM__talkcrm-sales-assistant-yaml.json"
SECRET_VALUE = "Bearer e2e-s3cret-do-not-print-4711"


def _seed_cal_demo(box: Box) -> str:
    """The cal-demo agent by id, with its three workspace tools (our seeding, corpus configs)."""
    raw = json.loads(CAL_DEMO.read_text())
    tool_ids = raw["conversation_config"]["agent"]["prompt"]["tool_ids"]
    names = ["check_availability", "book_appointment", "show_booking_summary"]
    for tool_id, name in zip(tool_ids, names, strict=True):
        config = json.loads((CORPUS / "tools" / f"devrchancay__elevenlabs-cal-demo__{name}.json").read_text())
        box.sandbox.elevenlabs.add_tool({"id": tool_id, "tool_config": config}, tool_id)
    return box.sandbox.elevenlabs.add_agent(raw, "agent_caldemo0001")


def _live_tools(box: Box) -> list[dict]:
    [agent] = box.live_agents()
    return agent["live_config"]["singlePromptConfig"]["tools"]


@pytest.mark.skipif(not CAL_DEMO.exists(), reason="corpus not found")
def test_webhook_tools_go_live_with_their_secret_which_is_never_shown_or_stored(box) -> None:
    agent_id = _seed_cal_demo(box)
    without = box.cli("agent", agent_id, "--dry-run", "--fail-on", "error")
    assert without.returncode == 3
    assert "--secret YvrtbpWPIqneImCL8LVk=VALUE" in without.stdout
    report = box.cwd / "report.md"
    run = box.cli(
        "agent",
        agent_id,
        "--yes",
        "--allow-errors",
        "--json",
        "--report",
        str(report),
        "--secret",
        f"YvrtbpWPIqneImCL8LVk={SECRET_VALUE}",
    )
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["apply"][0]["verified"] is True
    api_calls = {t["name"]: t for t in _live_tools(box) if t["type"] == "api_call"}
    assert set(api_calls) == {"check_availability", "book_appointment"}
    assert api_calls["book_appointment"]["headers"]["Authorization"] == SECRET_VALUE  # Atoms got the value
    assert '"bookingKey": "{{call_id}}"' in api_calls["book_appointment"]["requestBody"]
    # ... and nothing else did: not the output, the report, the state file or a re-run's diff.
    rerun = box.cli("agent", agent_id, "--yes", "-v", env={"ATOMS_MIGRATE_SECRET_YVRTBPWPIQNEIMCL8LVK": SECRET_VALUE})
    assert "Nothing to do" in rerun.stderr, rerun.stdout
    state = (box.cwd / ".atoms-migrate" / "state.json").read_text()
    for text in (run.stdout, run.stderr, report.read_text(), state, rerun.stdout, rerun.stderr):
        assert "e2e-s3cret" not in text
    assert "<secret:YvrtbpWPIqneImCL8LVk>" in run.stdout


@pytest.mark.skipif(not TALKCRM.exists(), reason="corpus not found")
def test_url_placeholder_blocks_the_tool_until_set(box) -> None:
    plan = box.cli("agent", str(TALKCRM), "--dry-run")
    assert "{{CONVEX_URL}}" in plan.stdout and "--set CONVEX_URL=VALUE" in plan.stdout
    run = box.cli("agent", str(TALKCRM), "--yes", "--set", "CONVEX_URL=https://convex.example.org")
    assert run.returncode == 0, run.stderr
    urls = sorted(t["url"] for t in _live_tools(box) if t["type"] == "api_call")
    assert len(urls) == 7 and all(u.startswith("https://convex.example.org/tools/") for u in urls)


BEA = CORPUS / "lianpassmore__bea__bea.json"


@pytest.mark.skipif(not BEA.exists(), reason="corpus not found")
def test_knowledge_base_agent_goes_live_with_its_documents(box) -> None:
    raw = json.loads(BEA.read_text())
    locators = raw["conversation_config"]["agent"]["prompt"]["knowledge_base"]
    for i, loc in enumerate(locators):  # our own stand-in content for the documents it names
        box.sandbox.elevenlabs.add_document(
            {"id": loc["id"], "type": "file", "name": loc["name"], "filename": loc["name"]},
            content=f"<h1>Notes {i}</h1><p>Whānau wellbeing notes, part {i}.</p>",
        )
    tool_files = sorted((CORPUS / "tools").glob("lianpassmore__bea__*.json"))
    tool_ids = raw["conversation_config"]["agent"]["prompt"]["tool_ids"]
    for tool_id, tool_file in zip(tool_ids, tool_files, strict=True):  # its workspace tools, by our own pairing
        box.sandbox.elevenlabs.add_tool({"tool_config": json.loads(tool_file.read_text())}, tool_id)
    run = box.cli("agent", str(BEA), "--yes", "--set", "BASE_URL=https://bea.example.org", "--json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["apply"][0]["verified"] is True and doc["apply"][0]["resource_failures"] == []
    resources = box.sandbox.atoms.resources
    [kb_id] = list(resources.knowledge_bases)
    assert len(resources.uploads) == len(locators) and all(data.startswith(b"%PDF") for _, _, data in resources.uploads)
    assert all(i["processingStatus"] == "completed" for i in resources.items[kb_id])
    live = box.live_agents()[0]["live_config"]
    assert live["globalKnowledgeBaseId"] == kb_id
    assert any(
        t["type"] == "knowledge_base_search" and t["knowledgeBaseId"] == kb_id
        for t in live["singlePromptConfig"]["tools"]
    )
    api_calls = [t for t in live["singlePromptConfig"]["tools"] if t["type"] == "api_call"]
    assert len(api_calls) == 7 + len(tool_ids) and len({t["name"] for t in api_calls}) == len(api_calls)
    assert sum(t["url"].startswith("https://bea.example.org/api/bea-tools/") for t in api_calls) == len(tool_ids)
    state = json.loads((box.cwd / ".atoms-migrate" / "state.json").read_text())
    assert state["knowledge_bases"][f"file:{BEA.as_posix()}"]["kb_id"] == kb_id
    writes = box.writes()
    again = box.cli("agent", str(BEA), "--yes", "--set", "BASE_URL=https://bea.example.org")
    assert again.returncode == 0 and "Nothing to do" in again.stderr, again.stdout + again.stderr
    assert box.writes() == writes and len(resources.knowledge_bases) == 1


def test_a_failing_document_is_reported_and_the_agent_still_goes_live(box) -> None:
    raw = json.loads(EXAMPLE.read_text())
    raw["conversation_config"]["agent"]["prompt"]["knowledge_base"] = [
        {"type": "url", "name": "Help centre", "id": "kb_url", "usage_mode": "auto"},
        {"type": "file", "name": "Prices", "id": "kb_pdf", "usage_mode": "auto"},
        {"type": "text", "name": "sandbox-fail notes", "id": "kb_text", "usage_mode": "prompt"},
    ]
    agent_id = box.sandbox.elevenlabs.add_agent(raw, "agent_kbmix0001")
    box.sandbox.elevenlabs.add_document(
        {"id": "kb_url", "type": "url", "name": "Help centre", "url": "https://help.acme.example/faq"}
    )
    box.sandbox.elevenlabs.add_document(
        {"id": "kb_pdf", "type": "file", "name": "Prices", "filename": "prices.pdf"},
        content="Prices",
        file=(b"%PDF-1.4 our own tiny test file", "application/pdf"),
    )
    box.sandbox.elevenlabs.add_document(
        {"id": "kb_text", "type": "text", "name": "sandbox-fail notes"}, content="Opening hours: 9-5."
    )
    run = box.cli("agent", agent_id, "--yes")
    assert run.returncode == 0, run.stderr
    assert "warning: document 'sandbox-fail notes.pdf': Atoms could not process it" in run.stderr
    resources = box.sandbox.atoms.resources
    [kb_id] = list(resources.knowledge_bases)
    assert [u["url"] for u in resources.scraped[kb_id]] == ["https://help.acme.example/faq"]
    assert sorted(name for _, name, _ in resources.uploads) == ["prices.pdf", "sandbox-fail notes.pdf"]
    assert box.live_agents()[0]["live_config"]["globalKnowledgeBaseId"] == kb_id
    # The failed one is sent again by the next run; the others are not.
    again = box.cli("agent", agent_id, "--yes")
    assert again.returncode == 0, again.stderr
    assert sorted(name for _, name, _ in resources.uploads) == [
        "prices.pdf",
        "sandbox-fail notes.pdf",
        "sandbox-fail notes.pdf",
    ]
    assert len(resources.scraped[kb_id]) == 1


def _wav(seconds: float) -> bytes:
    import io
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x01\x00" * int(16000 * seconds))
    return out.getvalue()


def _agent_with_voice(box: Box, voice_id: str) -> str:
    raw = json.loads(EXAMPLE.read_text())
    raw["conversation_config"]["tts"]["voice_id"] = voice_id
    raw["conversation_config"]["agent"]["prompt"].pop("knowledge_base", None)
    return box.sandbox.elevenlabs.add_agent(raw, "agent_voice0001")


def test_library_voice_is_matched_by_its_labels_against_the_catalog(box) -> None:
    box.sandbox.elevenlabs.add_voice(
        {
            "voice_id": "libVoice0000000000001",
            "name": "Harriet - Calm",
            "category": "professional",
            "labels": {"gender": "female", "accent": "british", "age": "young", "language": "en"},
        }
    )
    agent_id = _agent_with_voice(box, "libVoice0000000000001")
    shown = box.cli("voices", agent_id, "--json")
    assert shown.returncode == 0, shown.stderr
    [row] = json.loads(shown.stdout)["voices"]
    catalog = {v["voiceId"]: v["tags"] for v in box.sandbox.atoms.voices}
    assert row["basis"] == "suggested" and row["in_catalog"] is True and row["confidence"] == "high"
    assert catalog[row["target"]]["gender"] == "female" and catalog[row["target"]]["accent"] == "british"
    run = box.cli("agent", agent_id, "--yes")
    assert run.returncode == 0, run.stderr
    assert box.live_agents()[0]["live_config"]["synthesizer"]["voiceConfig"]["voiceId"] == row["target"]


def test_spanish_agent_gets_a_spanish_catalog_voice(box) -> None:
    box.sandbox.elevenlabs.add_voice(
        {
            "voice_id": "libVoice0000000000002",
            "name": "Ana",
            "category": "professional",
            "labels": {"gender": "female", "accent": "indian", "age": "young", "language": "en"},
        }
    )
    raw = json.loads(EXAMPLE.read_text())
    raw["name"] = "Ana"
    raw["conversation_config"]["agent"]["language"] = "es"
    raw["conversation_config"]["tts"]["voice_id"] = "libVoice0000000000002"
    raw["conversation_config"]["agent"]["prompt"].pop("knowledge_base", None)
    agent_id = box.sandbox.elevenlabs.add_agent(raw, "agent_spanish0001")
    [row] = json.loads(box.cli("voices", agent_id, "--json").stdout)["voices"]
    catalog = {v["voiceId"]: v["tags"] for v in box.sandbox.atoms.voices}
    assert "spanish" in catalog[row["target"]]["language"] and catalog[row["target"]]["gender"] == "female"
    assert row["confidence"] != "high" and row["in_catalog"] is True
    run = box.cli("agent", agent_id, "--yes")
    assert run.returncode == 0, run.stderr
    assert box.live_agents()[0]["live_config"]["synthesizer"]["voiceConfig"]["voiceId"] == row["target"]


def test_voice_outside_the_catalog_is_an_error_and_not_sent(box) -> None:
    tables = box.cwd / "tables"
    tables.mkdir()
    import yaml

    voices = yaml.safe_load((Path(__file__).parents[1] / "mappings" / "voices.yaml").read_text())
    example_voice = json.loads(EXAMPLE.read_text())["conversation_config"]["tts"]["voice_id"]
    for entry in voices["voices"]:
        if entry["elevenlabs_id"] == example_voice:
            entry["target"] = "nosuchvoice"
    (tables / "voices.yaml").write_text(yaml.safe_dump(voices))
    plan = box.cli("agent", str(EXAMPLE), "--dry-run", "--mappings", str(tables), "--fail-on", "error", "--json")
    [agent] = json.loads(plan.stdout)["agents"]
    errors = [f for f in agent["findings"] if f["severity"] == "error" and "nosuchvoice" in f["message"]]
    assert plan.returncode == 3 and errors and "Nearest catalog voices:" in errors[0]["hint"]
    assert not any(c["path"] == "synthesizer.voiceConfig.voiceId" for c in agent["changes"])


def test_clone_voices_clones_once_and_reuses_the_clone(box) -> None:
    box.sandbox.elevenlabs.add_voice(
        {"voice_id": "ownVoice0000000000001", "name": "Founder", "category": "cloned", "labels": {"gender": "male"}},
        audio=_wav(20),
        mime_type="audio/wav",
    )
    agent_id = _agent_with_voice(box, "ownVoice0000000000001")
    run = box.cli("agent", agent_id, "--yes", "--clone-voices")
    assert run.returncode == 0, run.stderr
    clones = box.sandbox.atoms.resources.clones
    [(clone_id, clone)] = clones.items()
    assert clone_id.startswith("voice_") and 15 * 32000 <= clone["size"] <= 15 * 32000 + 100  # cut to 15 s
    assert box.live_agents()[0]["live_config"]["synthesizer"]["voiceConfig"]["voiceId"] == clone_id
    assert "Voice consent is your responsibility" in run.stdout
    state = json.loads((box.cwd / ".atoms-migrate" / "state.json").read_text())
    assert state["voice_clones"] == {"ownVoice0000000000001": clone_id}
    writes = box.writes()
    again = box.cli("agent", agent_id, "--yes", "--clone-voices")
    assert "Nothing to do" in again.stderr and box.writes() == writes and len(clones) == 1
