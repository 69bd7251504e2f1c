"""End to end: the installed console script as a subprocess, run from outside the repo.

This proves the mapping tables ship with the package (``pip install .`` puts them in the
wheel) and that exit codes and streams are right for a real process.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import EXAMPLE, EXE, run_installed

# Runs the installed CLI in a subprocess against the sandbox over HTTP: the slow tier.
pytestmark = pytest.mark.e2e


def _run(*args: str, cwd: str) -> subprocess.CompletedProcess[str]:
    return run_installed(*args, cwd=cwd)


def test_installed_cli_plans_the_example_from_another_directory(tmp_path) -> None:
    result = _run("agent", str(EXAMPLE), "--dry-run", "--json", cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (
        json.loads(result.stdout)["agents"][0]["target"]["config"]["synthesizer"]["voiceConfig"]["voiceId"] == "rachel"
    )


def test_installed_cli_exit_codes(tmp_path) -> None:
    assert _run("agent", str(EXAMPLE), "--dry-run", "--detailed-exitcode", cwd=str(tmp_path)).returncode == 2
    missing = _run("agent", "nope.json", "--dry-run", cwd=str(tmp_path))
    assert missing.returncode == 1 and missing.stderr.startswith("error: nope.json: no such file")


@pytest.mark.skipif(EXE is None, reason="console script not on PATH (package not installed)")
def test_python_dash_m_matches_the_console_script(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "atoms_migrate", "--version"], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.stdout.startswith("atoms-migrate ")
