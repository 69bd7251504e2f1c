"""Hostile conditions end to end: the installed CLI against the sandbox over HTTP.

Two runs at once on one state file, one file under several spellings, a kill between the
draft and the publish: none of them may leave a duplicate or a half-applied agent behind.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import EXAMPLE, EXE
from test_batch_e2e import write_agents
from test_e2e import Box, _box

from atoms_migrate.sandbox.server import Sandbox

# Runs the installed CLI in a subprocess against the sandbox over HTTP: the slow tier.
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(EXE is None, reason="console script not on PATH (package not installed)"),
]


@pytest.fixture
def slow_box(tmp_path):
    sandbox = Sandbox(latency=0.03)
    server = sandbox.serve()
    box = Box(sandbox, f"http://127.0.0.1:{server.server_address[1]}", tmp_path)
    yield box
    server.shutdown()


@pytest.fixture
def make_box(tmp_path):
    """Sandboxes served over HTTP for one test, shut down after it."""
    made: list[Box] = []

    def make(versioning: str = "v2") -> Box:
        made.append(_box(tmp_path, versioning))
        return made[-1]

    yield make
    for box in made:
        box.server.shutdown()  # type: ignore[attr-defined]


def _start(box: Box, *args: str) -> subprocess.Popen[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "SMALLEST_"))},
        **box.env,
        "NO_COLOR": "1",
    }
    return subprocess.Popen(
        [str(EXE), *args],
        cwd=box.cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def test_two_runs_started_together_make_no_duplicate_and_the_second_names_the_holder(slow_box) -> None:
    write_agents(slow_box.cwd / "agents", 6)
    procs = [_start(slow_box, "all", "agents", "--yes", "--concurrency", "2") for _ in range(2)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 4], results
    loser = next(err for code, _, err in results if code == 4)
    assert "is in use by process" in loser and "atoms-migrate all" in loser and "--wait-lock" in loser
    live = slow_box.live_agents()
    assert len(live) == 6 and len({a["name"] for a in live}) == 6


def test_two_runs_with_wait_lock_both_succeed_and_the_second_writes_nothing(slow_box) -> None:
    write_agents(slow_box.cwd / "agents", 4)
    procs = [_start(slow_box, "all", "agents", "--yes", "--wait-lock", "120") for _ in range(2)]
    results = [(p.wait(timeout=180), *p.communicate()) for p in procs]
    assert [code for code, _, _ in results] == [0, 0], results
    assert any("Nothing to do" in err for _, _, err in results)
    assert len(slow_box.live_agents()) == 4


def test_agent_runs_on_one_source_at_once_leave_one_agent(slow_box) -> None:
    source = slow_box.cwd / "a.json"
    raw = json.loads(EXAMPLE.read_text())
    raw.pop("agent_id", None)
    source.write_text(json.dumps(raw))
    procs = [_start(slow_box, "agent", "a.json", "--yes", "--wait-lock", "120") for _ in range(2)]
    results = [(p.wait(timeout=180), *p.communicate()) for p in procs]
    assert [code for code, _, _ in results] == [0, 0], results
    assert len(slow_box.live_agents()) == 1


def test_an_unwritable_state_location_is_reported_before_any_write(slow_box) -> None:
    write_agents(slow_box.cwd / "agents", 1)
    (slow_box.cwd / "not-a-folder").write_text("a file where the state folder should be")
    run = slow_box.cli("all", "agents", "--yes", "--state", "not-a-folder/state.json")
    assert run.returncode == 1, run.stderr
    assert "cannot write the state location" in run.stderr and "Nothing was sent to Atoms" in run.stderr
    assert slow_box.writes() == 0


def _one_file(box: Box) -> Path:
    folder = box.cwd / "agents"
    folder.mkdir(exist_ok=True)
    raw = json.loads(EXAMPLE.read_text())
    raw.pop("agent_id", None)
    raw["conversation_config"]["agent"]["prompt"].pop("knowledge_base", None)
    path = folder / "a.json"
    path.write_text(json.dumps(raw))
    return path


def test_one_file_under_every_spelling_is_one_agent(make_box) -> None:
    box = make_box()
    path = _one_file(box)
    (box.cwd / "link.json").symlink_to(path)
    first = box.cli("agent", str(path.resolve()), "--yes")
    assert first.returncode == 0, first.stderr
    writes = box.writes()
    for spelling in ("agents/a.json", "agents/../agents/a.json", "./agents//a.json", "link.json"):
        again = box.cli("agent", spelling, "--yes")
        assert again.returncode == 0, again.stderr
        assert "Nothing to do" in again.stderr, spelling
    assert box.writes() == writes and len(box.live_agents()) == 1
    state = json.loads((box.cwd / ".atoms-migrate" / "state.json").read_text())
    assert list(state["agents"]) == ["file:agents/a.json"]


def test_a_state_entry_under_an_older_key_is_found_and_moved(make_box) -> None:
    box = make_box()
    path = _one_file(box)
    assert box.cli("agent", "agents/a.json", "--yes").returncode == 0
    state_file = box.cwd / ".atoms-migrate" / "state.json"
    state = json.loads(state_file.read_text())
    old_key = "file:" + str(path)  # what an earlier version wrote for an absolute spelling
    state["agents"] = {old_key: state["agents"]["file:agents/a.json"]}
    state_file.write_text(json.dumps(state))
    writes = box.writes()
    again = box.cli("agent", str(path), "--yes")
    assert again.returncode == 0 and "Nothing to do" in again.stderr, again.stderr
    assert box.writes() == writes and len(box.live_agents()) == 1
    assert list(json.loads(state_file.read_text())["agents"]) == ["file:agents/a.json"]


def test_a_state_entry_pointing_at_another_sources_agent_is_refused_without_writing(make_box) -> None:
    box = make_box()
    write_agents(box.cwd / "agents", 2)
    assert box.cli("all", "agents", "--yes").returncode == 0
    state_file = box.cwd / ".atoms-migrate" / "state.json"
    state = json.loads(state_file.read_text())
    a, b = state["agents"]["file:agents/agent00.json"], state["agents"]["file:agents/agent01.json"]
    state["agents"]["file:agents/agent00.json"] = b  # a merged state file gone wrong
    state_file.write_text(json.dumps(state))
    raw = json.loads((box.cwd / "agents" / "agent00.json").read_text())
    raw["conversation_config"]["agent"]["first_message"] = "Changed."
    (box.cwd / "agents" / "agent00.json").write_text(json.dumps(raw))
    writes = box.writes()
    run = box.cli("agent", "agents/agent00.json", "--yes")
    assert run.returncode == 1
    assert f"points at Atoms agent {b['smallest_agent_id']}" in run.stderr and "file:agents/agent01.json" in run.stderr
    assert "file:agents/agent00.json" in run.stderr and box.writes() == writes
    assert a["smallest_agent_id"] != b["smallest_agent_id"]


@pytest.mark.parametrize("fate", ["gone", "archived"])
def test_a_stale_entry_is_recreated_recorded_and_said(make_box, fate) -> None:
    box = make_box()
    _one_file(box)
    assert box.cli("agent", "agents/a.json", "--yes").returncode == 0
    state_file = box.cwd / ".atoms-migrate" / "state.json"
    old = json.loads(state_file.read_text())["agents"]["file:agents/a.json"]["smallest_agent_id"]
    if fate == "gone":
        del box.sandbox.atoms.agents[old]
    else:
        box.sandbox.atoms.agents[old].archived = True  # its name stays taken: the new one may come back as "… (2)"
    run = box.cli("agent", "agents/a.json", "--yes")
    assert run.returncode == 0, run.stderr
    assert f"Atoms agent {old} from the state file is {fate}" in run.stdout + run.stderr
    new = json.loads(state_file.read_text())["agents"]["file:agents/a.json"]["smallest_agent_id"]
    assert new != old and [a["id"] for a in box.live_agents()] == [new]


def _kill_at(box: Box, source: str, path_regex: str) -> None:
    """Run `agent SOURCE --yes`; kill -9 it once a POST matching ``path_regex`` reaches the sandbox (held, undone)."""
    box.sandbox.add_fault(path=path_regex, method="POST", action="hold_then_drop")
    proc = _start(box, "agent", source, "--yes")
    try:
        assert box.sandbox.reached.wait(60), f"no POST matching {path_regex} was sent"
    finally:
        proc.kill()
        proc.wait()
    box.sandbox.release()


@pytest.mark.parametrize(
    "versioning, publish", [("v2", r"/branches/[^/]+/draft/publish$"), ("v1", r"/drafts/[^/]+/publish$")]
)
@pytest.mark.parametrize("lose_state", [False, True], ids=["with-state", "state-lost"])
def test_killed_between_draft_and_publish_the_rerun_adopts_its_draft_and_converges(
    make_box, versioning, publish, lose_state
) -> None:
    if versioning == "v1" and lose_state:
        pytest.skip("v1 drafts cannot be read back for their content: without the state the draft stays someone else's")
    box = make_box(versioning)
    _one_file(box)
    _kill_at(box, "agents/a.json", publish)
    [before] = box.live_agents()
    assert not (before["live_config"] or {}).get("singlePromptConfig", {}).get("prompt"), (
        "the prompt went live before the publish"
    )
    if lose_state:
        (box.cwd / ".atoms-migrate" / "state.json").unlink()
    again = box.cli("agent", "agents/a.json", "--yes")
    assert again.returncode == 0, again.stderr
    assert "our own open draft" in again.stderr
    if versioning == "v2":
        why = "its content equals the plan" if lose_state else "the state recorded it as ours"
        assert why in again.stderr
    [after] = box.live_agents()
    assert after["id"] == before["id"] and "Acme" in after["live_config"]["singlePromptConfig"]["prompt"]
    assert box.cli("agent", "agents/a.json", "--yes").returncode == 0
    assert len(box.live_agents()) == 1


def test_someone_elses_open_draft_is_still_refused_after_an_interrupted_run(make_box) -> None:
    box = make_box()
    _one_file(box)
    _kill_at(box, "agents/a.json", r"/draft/publish$")
    [agent] = box.live_agents()
    box.sandbox.atoms.open_foreign_draft(agent["id"], {"firstMessage": "A colleague's edit."})
    again = box.cli("agent", "agents/a.json", "--yes")
    assert again.returncode == 1 and "open draft" in again.stderr and "--force" in again.stderr


URL_SECRETS = ("pw-S3CRET-1", "QK-S3CRET-2", "HDR-S3CRET-3", "CLI-S3CRET-4")


def _agent_with_secret_url(box: Box) -> None:
    raw = json.loads(EXAMPLE.read_text())
    raw.pop("agent_id", None)
    raw["conversation_config"]["agent"]["prompt"].pop("knowledge_base", None)
    raw["conversation_config"]["agent"]["prompt"].pop("tool_ids", None)
    raw["conversation_config"]["agent"]["prompt"]["tools"] = [
        {
            "type": "webhook",
            "name": "lookup_order",
            "description": "Find an order by its number.",
            "api_schema": {
                "url": "https://svc-user:pw-S3CRET-1@hooks.example.com/orders?api_key=QK-S3CRET-2&region=eu",
                "method": "GET",
                "request_headers": {"Authorization": "Bearer HDR-S3CRET-3"},
            },
        }
    ]
    folder = box.cwd / "agents"
    folder.mkdir(exist_ok=True)
    (folder / "a.json").write_text(json.dumps(raw))


def test_credentials_in_webhook_urls_reach_atoms_and_no_output_file(make_box) -> None:
    box = make_box()
    _agent_with_secret_url(box)
    env = {"GITHUB_STEP_SUMMARY": str(box.cwd / "summary.md"), "GITHUB_ACTIONS": "true"}
    runs = [
        box.cli(
            "agent", "agents/a.json", "--dry-run", "--json", "--out", "plan1.json", "--report", "r1.md", "-v", env=env
        ),
        box.cli("agent", "agents/a.json", "--dry-run", "-v", env=env),
        box.cli(
            "all",
            "agents",
            "--dry-run",
            "--json",
            "--out",
            "plan2.json",
            "--report",
            "r2.md",
            "--junit",
            "j1.xml",
            env=env,
        ),
        box.cli("apply", "plan2.json", "--yes", "--json", "--report", "r3.md", "--junit", "j2.xml", env=env),
        box.cli("agent", "agents/a.json", "--yes", "--json", "-v", "--report", "r4.md", env=env),
        box.cli("all", "agents", "--yes", "-v", "--junit", "j3.xml", env=env),
        box.cli("agent", "agents/a.json", "--dry-run", "--secret", "CLI-S3CRET-4"),  # malformed: no NAME=
    ]
    assert [r.returncode for r in runs[:-1]] == [0, 0, 0, 0, 0, 0], [r.stderr[-500:] for r in runs]
    assert runs[-1].returncode == 1 and "--secret expects NAME=VALUE, got a value without NAME=" in runs[-1].stderr
    outputs = {f"run {i} {stream}": getattr(r, stream) for i, r in enumerate(runs) for stream in ("stdout", "stderr")}
    files = [
        p for p in box.cwd.rglob("*") if p.is_file() and p.suffix != ".json" or p.name.startswith(("plan", "state"))
    ]
    outputs |= {str(p.relative_to(box.cwd)): p.read_text() for p in files if "agents" not in p.parts}
    assert {
        "plan1.json",
        "plan2.json",
        "r1.md",
        "r2.md",
        "r3.md",
        "r4.md",
        "j1.xml",
        "j2.xml",
        "j3.xml",
        "summary.md",
        ".atoms-migrate/state.json",
    } <= set(outputs)
    for where, text in outputs.items():
        for secret in URL_SECRETS:
            assert secret not in text, f"{secret} leaked into {where}"
    assert "<secret:lookup_order.api_key>" in outputs["plan1.json"]
    [agent] = (
        box.live_agents()
    )  # Atoms gets what ElevenLabs sends: the key as a query parameter; the declared header wins
    [tool] = [t for t in agent["live_config"]["singlePromptConfig"]["tools"] if t.get("type") == "api_call"]
    assert tool["url"] == "https://hooks.example.com/orders?region=eu"
    assert {"key": "api_key", "value": "QK-S3CRET-2"} in tool["queryParams"]
    assert tool["headers"]["Authorization"] == "Bearer HDR-S3CRET-3"


@pytest.mark.parametrize("lose_state", [False, True], ids=["with-state", "state-lost"])
def test_killed_half_way_through_a_knowledge_base_the_rerun_finishes_it_once(make_box, lose_state) -> None:
    box = make_box()
    raw = json.loads(EXAMPLE.read_text())
    raw["conversation_config"]["agent"]["prompt"]["knowledge_base"] = [
        {"type": "url", "name": "Help centre", "id": "kb_url", "usage_mode": "auto"},
        {"type": "file", "name": "Prices", "id": "kb_pdf", "usage_mode": "auto"},
    ]
    agent_id = box.sandbox.elevenlabs.add_agent(raw, "agent_kbhalf0001")
    box.sandbox.elevenlabs.add_document(
        {"id": "kb_url", "type": "url", "name": "Help centre", "url": "https://help.acme.example/faq"}
    )
    box.sandbox.elevenlabs.add_document(
        {"id": "kb_pdf", "type": "file", "name": "Prices", "filename": "prices.pdf"},
        content="Prices",
        file=(b"%PDF-1.4 our own tiny test file", "application/pdf"),
    )
    _kill_at(box, agent_id, r"/items/upload-media$")
    resources = box.sandbox.atoms.resources
    assert len(resources.knowledge_bases) == 1 and not box.live_agents()
    if lose_state:
        (box.cwd / ".atoms-migrate" / "state.json").unlink()
    again = box.cli("agent", agent_id, "--yes")
    assert again.returncode == 0, again.stderr
    [kb_id] = list(resources.knowledge_bases)
    assert [name for _, name, _ in resources.uploads] == ["prices.pdf"]
    assert [u["url"] for u in resources.scraped[kb_id]] == ["https://help.acme.example/faq"]
    [agent] = box.live_agents()
    assert agent["live_config"]["globalKnowledgeBaseId"] == kb_id
