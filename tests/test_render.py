"""Golden tests for what people read: the terminal report and the markdown report.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/test_render.py``
and review the diff of tests/golden/.
"""

from __future__ import annotations

import copy
import io
import os
from pathlib import Path

import pytest
from conftest import EXAMPLE
from rich.console import Console

from atoms_migrate.model import Plan
from atoms_migrate.plan.planner import plan_agent, plan_all
from atoms_migrate.report.human import render_plan
from atoms_migrate.report.markdown import plan_markdown
from atoms_migrate.source.shapes import normalise, read_config_file

GOLDEN = Path(__file__).parent / "golden"


def _example_plan(tables, current=None) -> Plan:
    source = normalise(read_config_file(EXAMPLE), "examples/support-agent.json", path="examples/support-agent.json")
    return plan_all(
        [plan_agent(source, tables, current=current, target_agent_id="66aa00bb11cc22dd33ee44ff" if current else None)]
    )


def _update_plan(tables) -> Plan:
    live = copy.deepcopy(_example_plan(tables).agents[0].target_config)
    live["singlePromptConfig"]["prompt"] = live["singlePromptConfig"]["prompt"].replace(
        "Be brief and friendly", "Be formal"
    )
    live["synthesizer"]["speed"] = 1.2
    live["singlePromptConfig"]["tools"].append({"type": "end_call", "name": "old_hangup", "description": "Old."})
    return _example_plan(tables, current=live)


def _human(plan: Plan, verbose: bool = False) -> str:
    buffer = io.StringIO()
    render_plan(
        plan, Console(file=buffer, width=120, color_system=None, force_terminal=False, highlight=False), verbose=verbose
    )
    return buffer.getvalue()


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "name, build, render",
    [
        ("create.txt", _example_plan, _human),
        ("create-verbose.txt", _example_plan, lambda p: _human(p, verbose=True)),
        ("update.txt", _update_plan, _human),
        ("create.md", _example_plan, plan_markdown),
        ("update.md", _update_plan, plan_markdown),
    ],
)
def test_golden(tables, name, build, render) -> None:
    _check(name, render(build(tables)))


def test_unchanged_live_config_is_a_no_op(tables) -> None:
    live = copy.deepcopy(_example_plan(tables).agents[0].target_config)
    agent = _example_plan(tables, current=live).agents[0]
    assert agent.action == "no-op" and agent.changes == ()
    assert "no changes" in _human(plan_all([agent]))


def test_markup_in_source_text_is_printed_literally(tables) -> None:
    from conftest import agent_config, make_source

    plan = plan_all([plan_agent(make_source(agent_config(first_message="[bold red]hi[/]")), tables)])
    assert "[bold red]hi[/]" in _human(plan)


def test_markdown_stays_under_the_step_summary_limit(tables) -> None:
    plan = Plan(agents=_example_plan(tables).agents * 50)
    text = plan_markdown(plan, limit=20_000)
    assert len(text.encode()) <= 20_000
    assert "Report truncated" in text


TOOL_AGENT = Path(__file__).parent / "fixtures" / "toolcalls" / "incident-desk.json"


def _tool_calls_block(text: str) -> str:
    """The "Tool calls" block of a human report: from its title to the next blank line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  Tool calls"))
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return "\n".join(lines[start:end]) + "\n"


def _tool_plan(tables) -> Plan:
    source = normalise(read_config_file(TOOL_AGENT), "incident-desk.json", path="incident-desk.json")
    return plan_all([plan_agent(source, tables)])


@pytest.mark.parametrize("name, verbose", [("tool-calls.txt", False), ("tool-calls-verbose.txt", True)])
def test_golden_tool_calls_block(tables, name, verbose) -> None:
    _check(name, _tool_calls_block(_human(_tool_plan(tables), verbose=verbose)))


def test_tool_calls_block_in_markdown_and_json(tables) -> None:
    plan = _tool_plan(tables)
    assert "- `= get_incident  POST /tools/get_incident  body 1 field`" in plan_markdown(plan)
    parity = plan.to_dict()["agents"][0]["tool_parity"]
    assert [(p["tool"], p["equal"]) for p in parity] == [
        ("get_incident", True),
        ("create_ticket", True),
        ("audit", False),
    ]
    assert parity[2]["differences"] == [
        'body.agent: ElevenLabs sends "<system__agent_id>", Atoms sends "{{system__agent_id}}"'
    ]
    assert set(parity[0]) == {"tool", "source_path", "equal", "differences", "elevenlabs", "atoms"}


def test_verbose_tool_calls_wrap_a_long_elevenlabs_line_instead_of_cutting_it() -> None:
    """Review: the ElevenLabs column cut long URLs with "…", hiding the part a reader compares."""
    from types import SimpleNamespace

    from atoms_migrate.mapping.toolcalls import Request, ToolParity
    from atoms_migrate.report.human import _tool_call_lines

    url = "https://identifying-creature-les-inbox.trycloudflare.com/tools/book/with/a/long/path"
    parity = ToolParity("book", "tools[0]", Request("POST", url), Request("POST", url), ())
    lines = [t.plain for t in _tool_call_lines(SimpleNamespace(tool_parity=[parity]), verbose=True)][3:]
    left = "".join(
        line[8:].split(" | ")[0].strip() if i == 0 else line.split(" |")[0].strip() for i, line in enumerate(lines)
    )
    assert left == f"POST {url}" and "…" not in "".join(lines)
    assert len({line.index("|") for line in lines}) == 1, "the columns stay aligned"
