"""The CLI through typer's CliRunner: exit codes, what goes to stdout vs stderr, no leaks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import respx
from conftest import EXAMPLE, FIXTURES
from typer.testing import CliRunner

from atoms_migrate.cli import app

runner = CliRunner()
KEY = "xi-secret-key-do-not-print-0001"


def run(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


def test_dry_run_shows_the_plan() -> None:
    result = run("agent", str(EXAMPLE), "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "+ create agent Support Agent" in result.stdout
    assert "Plan: 1 to create" in result.stdout
    assert result.stderr == ""


def test_json_is_the_only_thing_on_stdout() -> None:
    result = run("agent", str(EXAMPLE), "--dry-run", "--json")
    assert result.exit_code == 0
    plan = json.loads(result.stdout)
    assert plan["format_version"] == "1"
    agent = plan["agents"][0]
    assert agent["source"] == {
        **agent["source"],
        "agent_id": "agent_0000example0support0000000",
        "name": "Support Agent",
    }
    assert agent["action"] == "create" and agent["target"]["agent_id"] is None
    assert agent["target"]["config"]["firstMessage"].startswith("Hi {{customer_name}}")
    change = next(c for c in agent["changes"] if c["path"] == "firstMessage")
    assert change == {
        **change,
        "before": None,
        "source_path": "conversation_config.agent.first_message",
        "rule": "mappings/concepts.yaml#first_message",
        "status": "mapped",
    }
    assert {"source_path", "status", "severity", "message", "hint"} <= set(agent["findings"][0])
    assert set(plan["summary"]) >= {"create", "update", "no-op", "mapped", "lossy", "unmapped", "ignored"}


def test_detailed_exitcode_reports_changes() -> None:
    assert run("agent", str(EXAMPLE), "--dry-run", "--detailed-exitcode").exit_code == 2


@pytest.mark.parametrize("level, code", [("error", 0), ("unmapped", 3), ("lossy", 3)])
def test_fail_on_gates(level: str, code: int) -> None:
    # The example has warnings (knowledge base, keywords) but no error-level finding.
    result = run("agent", str(EXAMPLE), "--dry-run", "--fail-on", level)
    assert result.exit_code == code
    if code == 3:
        assert f"--fail-on {level}" in result.stderr


def test_fail_on_error_trips_on_error_findings() -> None:
    result = run(
        "agent",
        str(FIXTURES / "shapes" / "inline-tools.json"),
        "--dry-run",
        "--fail-on",
        "error",
        "--detailed-exitcode",
    )
    assert result.exit_code == 3  # the gate wins over "changes present"


def test_applying_without_a_smallest_key_is_refused_with_a_hint(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # the run takes the state lock in its working directory: not the repository's
    result = run("agent", str(EXAMPLE), "--yes")
    assert result.exit_code == 1
    assert "SMALLEST_API_KEY is not set" in result.stderr
    assert "hint: Export SMALLEST_API_KEY" in result.stderr


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["agent", "missing-file.json", "--dry-run"], "missing-file.json: no such file"),
        (["agent", str(FIXTURES / "shapes" / "hand-written.json"), "--dry-run"], "not an ElevenLabs agent config"),
        (["agent", "agent_abc123", "--dry-run"], "ELEVENLABS_API_KEY is not set"),
        (["agent", "not an id!", "--dry-run"], "no such file, and not an ElevenLabs agent id"),
    ],
)
def test_errors_are_one_line_with_a_hint_and_no_traceback(args, fragment) -> None:
    result = run(*args)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and fragment in lines[0]
    assert lines[1].startswith("  hint: ")
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_debug_shows_the_traceback() -> None:
    result = run("agent", "missing-file.json", "--dry-run", "--debug")
    assert "Traceback" in result.stderr


def test_malformed_json(tmp_path: Path) -> None:
    bad = tmp_path / "agent.json"
    bad.write_text('{"conversation_config": }')
    result = run("agent", str(bad), "--dry-run")
    assert result.exit_code == 1 and "malformed JSON at line 1, column 25" in result.stderr


def _agent_body() -> dict:
    body = json.loads(EXAMPLE.read_text())
    body["conversation_config"]["agent"]["prompt"]["tool_ids"] = ["tool_a", "tool_gone"]
    return body


@pytest.mark.parametrize("base_via", ["env", "option"])
def test_agent_id_is_read_from_elevenlabs_with_its_tools(base_via: str) -> None:
    base = "https://api.in.residency.elevenlabs.io"
    env = {"ELEVENLABS_API_KEY": KEY} | ({"ELEVENLABS_BASE_URL": base} if base_via == "env" else {})
    extra = ["--elevenlabs-base-url", base] if base_via == "option" else []
    with respx.mock(base_url=base, assert_all_called=True) as mock:
        mock.get("/v1/convai/agents/agent_live1", headers={"xi-api-key": KEY}).respond(200, json=_agent_body())
        mock.get("/v1/convai/tools/tool_a", headers={"xi-api-key": KEY}).respond(
            200,
            json={
                "id": "tool_a",
                "tool_config": {"type": "system", "name": "end_call", "params": {"system_tool_type": "end_call"}},
            },
        )
        mock.get("/v1/convai/tools/tool_gone").respond(404, json={"detail": "tool_not_found"})
        mock.get("/v1/convai/settings").respond(
            200, json={"webhooks": {"events": []}}
        )  # no workspace post-call webhook
        mock.get("/v1/convai/knowledge-base/kbdoc_example0001").respond(
            200,
            json={
                "id": "kbdoc_example0001",
                "type": "url",
                "name": "Acme help centre",
                "url": "https://help.acme.example/faq",
            },
        )
        result = run("agent", "agent_live1", "--dry-run", "--json", *extra, env=env)
    assert result.exit_code == 0, result.stderr
    agent = json.loads(result.stdout)["agents"][0]
    assert any("tool tool_gone could not be read" in n for n in agent["source"]["notes"])
    [kb_step] = [s for s in agent["steps"] if s["kind"] == "knowledge_base"]
    assert kb_step["body"]["documents"] == [
        {"id": "kbdoc_example0001", "name": "Acme help centre", "send": "url", "as": "https://help.acme.example/faq"}
    ]
    assert KEY not in result.stdout + result.stderr


def test_api_errors_exit_1_and_never_print_the_key() -> None:
    with respx.mock(base_url="https://api.elevenlabs.io") as mock:
        mock.get("/v1/convai/agents/agent_x").respond(
            401, json={"detail": {"status": "invalid_api_key", "message": f"bad key {KEY}"}}
        )
        result = run("agent", "agent_x", "--dry-run", env={"ELEVENLABS_API_KEY": KEY})
    assert result.exit_code == 1
    assert "rejected the API key" in result.stderr
    assert KEY not in result.stdout + result.stderr and "<redacted>" in result.stderr


def test_report_and_step_summary(tmp_path: Path) -> None:
    report, summary = tmp_path / "plan.md", tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    result = run("agent", str(EXAMPLE), "--dry-run", "--report", str(report), env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.exit_code == 0
    text = report.read_text()
    assert text.startswith("## atoms-migrate plan") and "<details>" in text
    assert summary.read_text() == "earlier step\n" + text


def test_mappings_override_changes_the_plan(tmp_path: Path) -> None:
    (tmp_path / "llms.yaml").write_text(
        "targets: [electron]\nrules:\n  - {match: '*', target: electron, status: lossy, note: all local}\n"
    )
    result = run("agent", str(EXAMPLE), "--dry-run", "--json", "--mappings", str(tmp_path))
    assert json.loads(result.stdout)["agents"][0]["target"]["config"]["slmModel"] == "electron"


def test_verbose_lists_ignored_fields() -> None:
    result = run("agent", str(EXAMPLE), "--dry-run", "-v")
    assert "platform_settings.widget: Widget styling" in result.stdout


def test_version() -> None:
    from atoms_migrate import __version__

    assert run("--version").stdout.strip() == f"atoms-migrate {__version__}"


@pytest.mark.parametrize(
    "command",
    [
        ["agent"],
        ["all"],
        ["apply"],
        ["promote"],
        ["rollback"],
        ["sandbox"],
        ["doctor"],
        ["voices"],
        ["scan"],
        ["verify"],
        ["mappings", "check"],
    ],
)
def test_readme_usage_lists_every_option_of_every_command(command) -> None:
    import re

    from conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    usage = readme[readme.index("## Usage") : readme.index("## Applying to Atoms")]
    help_text = run(*command, "--help").stdout
    assert f"atoms-migrate {' '.join(command)} " in usage
    options = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", help_text)) - {"--help"}
    missing = sorted(o for o in options if not re.search(re.escape(o) + r"(?![\w-])", usage))
    assert missing == [], f"README usage lacks {missing} of `{' '.join(command)}`"
