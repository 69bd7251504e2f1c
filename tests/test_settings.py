"""Settings (the environment, read once) and the CLI's one error boundary: exit codes, tracebacks, scrubbing."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import EXAMPLE
from typer.testing import CliRunner

from atoms_migrate.cli import app
from atoms_migrate.errors import EXIT_CRASH, EXIT_ERROR, ConfigError
from atoms_migrate.settings import ELEVENLABS_API_KEY, SMALLEST_API_KEY, Settings

runner = CliRunner()


def test_settings_read_every_variable_once() -> None:
    settings = Settings.from_env(
        {
            "ELEVENLABS_API_KEY": " xi-key ",
            "SMALLEST_API_KEY": "",
            "ATOMS_MIGRATE_SECRET_CRM_TOKEN": "tok-1234",
            "ATOMS_MIGRATE_PDF_FONT": "/fonts/x.ttf",
            "GITHUB_STEP_SUMMARY": "/tmp/summary.md",
            "GITHUB_ACTIONS": "true",
            "SMALLEST_BASE_URL": "http://127.0.0.1:9",
            "SMALLEST_REALTIME_URL": "ws://127.0.0.1:9/atoms",
            "ELEVENLABS_REALTIME_URL": "ws://127.0.0.1:9/convai",
            "UNRELATED": "x",
        }
    )
    assert settings.api_key(ELEVENLABS_API_KEY) == "xi-key" and settings.has_key(ELEVENLABS_API_KEY)
    assert settings.api_key(SMALLEST_API_KEY) == "" and not settings.has_key(SMALLEST_API_KEY)
    assert dict(settings.secret_env) == {"ATOMS_MIGRATE_SECRET_CRM_TOKEN": "tok-1234"}
    assert settings.pdf_font == "/fonts/x.ttf" and settings.step_summary == Path("/tmp/summary.md")
    assert settings.github_actions and settings.smallest_base_url == "http://127.0.0.1:9"
    assert settings.elevenlabs_base_url is None
    assert settings.smallest_realtime_url == "ws://127.0.0.1:9/atoms"
    assert settings.elevenlabs_realtime_url == "ws://127.0.0.1:9/convai"
    assert settings.secret_values() == {" xi-key ", "xi-key", "tok-1234"}
    assert "xi-key" not in repr(settings) and "tok-1234" not in repr(settings)


def test_empty_variables_are_unset() -> None:
    settings = Settings.from_env({"GITHUB_STEP_SUMMARY": "", "GITHUB_ACTIONS": "1", "ATOMS_MIGRATE_PDF_FONT": ""})
    assert settings.step_summary is None and not settings.github_actions and settings.pdf_font is None


@pytest.mark.parametrize(
    "key, problem",
    [("sk-abc\ndef", "contains a newline"), ("sk-äbc", "cannot be part of an API key"), ("a b", "a space")],
)
def test_a_key_that_cannot_be_a_header_is_refused_without_echoing_it(key: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        Settings.from_env({SMALLEST_API_KEY: key}).api_key(SMALLEST_API_KEY)
    assert key.strip() not in f"{caught.value.message} {caught.value.hint}"


def _help(*command: str) -> str:
    return " ".join(runner.invoke(app, [*command, "--help"]).stdout.split())  # unwrapped


def test_base_url_options_name_their_variable_in_help() -> None:
    assert "[env var: SMALLEST_BASE_URL]" in _help("promote")
    assert "[env var: ELEVENLABS_BASE_URL]" in _help("voices") and "[env var: SMALLEST_BASE_URL]" in _help("voices")


def _crash(monkeypatch: pytest.MonkeyPatch, message: str) -> None:
    """Make planning raise an exception no code expects: what a bug looks like from outside."""
    import atoms_migrate.mapping.tables as tables

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError(message)

    monkeypatch.setattr(tables, "load_tables", boom)


def test_a_crash_has_its_own_exit_code_and_no_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    _crash(monkeypatch, "boom")
    result = runner.invoke(app, ["agent", str(EXAMPLE), "--dry-run"])
    assert result.exit_code == EXIT_CRASH != EXIT_ERROR
    assert result.stderr.splitlines() == [
        "error: unexpected RuntimeError: boom",
        "  hint: this is a bug in atoms-migrate; re-run with --debug and report the traceback.",
    ]


def test_debug_shows_the_traceback_of_a_crash_with_secrets_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-live-0123456789"
    _crash(monkeypatch, f"key {secret} leaked")
    result = runner.invoke(
        app, ["agent", str(EXAMPLE), "--dry-run", "--debug"], env={"SMALLEST_API_KEY": secret, "COLUMNS": "200"}
    )
    assert result.exit_code == EXIT_CRASH
    assert "Traceback (most recent call last)" in result.stderr and "RuntimeError" in result.stderr
    assert secret not in result.stderr and "error: unexpected RuntimeError: key <redacted> leaked" in result.stderr


def test_an_expected_failure_still_exits_1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    result = runner.invoke(app, ["agent", str(tmp_path / "missing.json"), "--dry-run"])
    assert result.exit_code == EXIT_ERROR and result.stderr.startswith("error: ")
    assert "unexpected" not in result.stderr


def test_a_closed_stdout_is_not_called_a_bug() -> None:
    """`| head` closes the pipe: the boundary lets click end the run quietly instead of reporting a crash."""
    from atoms_migrate.cli.boundary import error_boundary

    with pytest.raises(BrokenPipeError), error_boundary(debug=False):
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.e2e
def test_the_installed_cli_whose_reader_has_gone_exits_quietly(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from conftest import EXE

    cmd = [EXE] if EXE else [sys.executable, "-m", "atoms_migrate"]
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte: every write meets a closed pipe
    try:
        run = subprocess.run(
            [*cmd, "agent", str(EXAMPLE), "--dry-run", "--json"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert (run.returncode, run.stderr) == (EXIT_ERROR, "")
