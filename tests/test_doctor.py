"""`atoms-migrate doctor`: read-only checks, and `--probe` reporting each sandbox behaviour correctly
and leaving no probe agent behind (also when interrupted)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import httpx
import pytest
from conftest import EXE
from test_e2e import Box, _box

from atoms_migrate.apply import doctor
from atoms_migrate.platforms.retry import RetryPolicy
from atoms_migrate.platforms.smallest import AtomsClient
from atoms_migrate.sandbox.server import ATOMS_KEY, Sandbox


@pytest.fixture
def box(tmp_path):
    b = _box(tmp_path)
    yield b
    b.server.shutdown()  # type: ignore[attr-defined]


def _kept(doc: dict) -> dict[tuple[str, str], bool | None]:
    return {(c["field"], c["form"]): c["kept"] for c in doc["capabilities"]}


@pytest.mark.e2e
def test_read_only_doctor_writes_nothing_and_passes(box) -> None:
    run = box.cli("doctor", "--json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    status = {c["name"]: c["status"] for c in doc["checks"]}
    assert status["Atoms key"] == "ok" and status["ElevenLabs key"] == "ok" and status["Voice catalog"] == "ok"
    assert "Pro pool" in next(c["detail"] for c in doc["checks"] if c["name"] == "Voice catalog")
    assert box.writes() == 0 and doc["capabilities"] == []


@pytest.mark.e2e
def test_a_bad_key_fails_with_what_to_do(box) -> None:
    run = box.cli("doctor", env={"SMALLEST_API_KEY": "sk_wrong"})
    assert run.returncode == 1
    assert "FAIL" in run.stdout and "SMALLEST_API_KEY" in run.stdout


@pytest.mark.e2e
def test_probe_on_a_plain_account_keeps_the_first_form_of_everything(box) -> None:
    run = box.cli("doctor", "--probe", "--yes", "--json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    kept = _kept(doc)
    assert kept[("prompt", "singlePromptConfig.prompt")] and kept[("prompt", "globalPrompt")]
    assert kept[("pro voice model", "voice id only")]
    assert doc["write_forms"]["prompt"] == "singlePromptConfig.prompt"
    assert all(a["archived"] for a in box.sandbox.atoms.summary())  # no probe agent left live
    assert {c["name"]: c["status"] for c in doc["checks"]}["Model gpt-5.2"] == "info"  # 403: gated


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("behaviour", "field", "failing", "chosen"),
    [
        ("prompt-in-global-prompt", "prompt", "singlePromptConfig.prompt", "globalPrompt"),
        ("ignore-post-call-analytics", "post-call analytics", "postCallAnalyticsConfig", "not accepted"),
        ("pro-voice-model", "pro voice model", "voice id only", "voiceConfig.modelId"),
    ],
)
def test_probe_reports_each_behaviour_and_records_the_form(box, behaviour, field, failing, chosen) -> None:
    httpx.post(f"{box.url}/_sandbox/atoms/behaviours", json={"behaviours": [behaviour]}).raise_for_status()
    run = box.cli("doctor", "--probe", "--yes", "--json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert _kept(doc)[(field, failing)] is False and _kept(doc)[(field, chosen)] is True
    state = json.loads((box.cwd / ".atoms-migrate" / "state.json").read_text())
    assert state["write_forms"][field] == chosen
    assert [a["archived"] for a in box.sandbox.atoms.summary()] == [True]
    table = box.cli("doctor", "--probe", "--yes")
    assert f"{field}" in table.stdout and "Kept?" in table.stdout


@pytest.mark.e2e
def test_probe_archives_its_agent_when_interrupted(tmp_path) -> None:
    sandbox = Sandbox(latency=0.3, scan_reads=3)
    server = sandbox.serve()
    try:
        box = Box(sandbox, f"http://127.0.0.1:{server.server_address[1]}", tmp_path)
        env = {**os.environ, **box.env}
        proc = subprocess.Popen(
            [str(EXE), "doctor", "--probe", "--yes"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not sandbox.atoms.agents:
            time.sleep(0.05)
        assert sandbox.atoms.agents, "the probe never created its agent"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        assert proc.returncode != 0
        assert [a["archived"] for a in sandbox.atoms.summary()] == [True]
    finally:
        server.shutdown()


def test_a_probe_agent_left_by_a_killed_run_is_archived_by_the_next_probe(tables) -> None:
    box = Sandbox()
    http = httpx.Client(
        base_url="http://sandbox", transport=box.transport(), headers={"Authorization": f"Bearer {ATOMS_KEY}"}
    )
    atoms = AtomsClient(http, RetryPolicy(attempts=2, initial_wait=0, max_wait=0, sleep=lambda s: None))
    left = atoms.create_agent(
        {"name": f"{doctor.PROBE_PREFIX}20260101T000000Z", "firstMessage": "Probe.", "description": doctor.PROBE_MARKER}
    )
    other = atoms.create_agent({"name": f"{doctor.PROBE_PREFIX}lookalike", "firstMessage": "Hi", "description": "mine"})
    report = doctor.Report()
    doctor.probe(atoms, report, sleep=lambda s: None)
    archived = {a["id"]: a["archived"] for a in box.atoms.summary()}
    assert archived[left] and archived[report.probe_agent] and not archived[other]
