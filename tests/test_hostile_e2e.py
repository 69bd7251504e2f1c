"""Hostile conditions end to end: the installed CLI against the sandbox over HTTP.

Two runs at once on one state file, one file under several spellings, a kill between the
draft and the publish: none of them may leave a duplicate or a half-applied agent behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from atoms_migrate.sandbox.server import Sandbox
from conftest import EXAMPLE, EXE
from test_batch_e2e import write_agents
from test_e2e import Box

pytestmark = pytest.mark.skipif(EXE is None, reason="console script not on PATH (package not installed)")


@pytest.fixture
def slow_box(tmp_path):
    sandbox = Sandbox(latency=0.03)
    server = sandbox.serve()
    box = Box(sandbox, f"http://127.0.0.1:{server.server_address[1]}", tmp_path)
    yield box
    server.shutdown()


def _start(box: Box, *args: str) -> subprocess.Popen[str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "SMALLEST_"))}, **box.env, "NO_COLOR": "1"}
    return subprocess.Popen([str(EXE), *args], cwd=box.cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)


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
