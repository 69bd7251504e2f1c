"""The one post-plan flow (apply/flow.py) in-process, against the sandbox's Atoms fake: no CLI, no subprocess.

Each test plans real agents with a real ``Run`` and checks what ``post_plan`` wrote to the fake, what it asked,
what it said and the exit code its ``RunReport`` gives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import EXAMPLE, agent_config

from atoms_migrate.apply import flow
from atoms_migrate.apply.gate import FailOn
from atoms_migrate.apply.run import Run, RunConfig
from atoms_migrate.apply.state import load_state
from atoms_migrate.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_GATE, ConfigError
from atoms_migrate.platforms.retry import RetryPolicy
from atoms_migrate.platforms.smallest import AtomsClient
from atoms_migrate.sandbox.server import ATOMS_KEY, Sandbox
from atoms_migrate.source.select import SourceSpec


@dataclass
class Asker:
    """The injected confirmation: answers ``answer`` and remembers every question."""

    answer: bool = True
    questions: list[str] = field(default_factory=list)

    def __call__(self, question: str) -> bool:
        self.questions.append(question)
        return self.answer


@dataclass
class Rig:
    box: Sandbox
    tmp: Path
    tables: Any
    said: list[str] = field(default_factory=list)

    def run(self, state: str = "state.json", *, atoms: bool = True, batch: bool = False) -> Run:
        client = None
        if atoms:
            http = httpx.Client(
                base_url="http://sandbox",
                transport=self.box.transport(),
                headers={"Authorization": f"Bearer {ATOMS_KEY}"},
            )
            client = AtomsClient(http, RetryPolicy(attempts=2, initial_wait=0, max_wait=0, sleep=lambda s: None))
        return Run(RunConfig(tables=self.tables, state_path=self.tmp / state), client, None, batch=batch)

    def file(self, name: str, config: dict[str, Any]) -> SourceSpec:
        path = self.tmp / f"{name}.json"
        path.write_text(json.dumps(config))
        return SourceSpec(str(path), "file")

    def items(self, run: Run, *specs: SourceSpec) -> list[flow.Item]:
        items = [flow.Item(spec) for spec in specs]
        flow.plan_items(items, run, 2, flow.SilentProgress(), {})
        return items

    def flow(self, run: Run, items: list[flow.Item], asker: Asker, **options: Any) -> flow.RunReport:
        opts = flow.FlowOptions(**options)
        return flow.post_plan(items, flow.combined_plan(items), run, opts, asker, say=self.said.append)

    def live_names(self) -> list[str]:
        return sorted(a["name"] for a in self.box.atoms.summary() if not a["archived"])


@pytest.fixture
def rig(tables, tmp_path: Path) -> Rig:
    return Rig(Sandbox(versioning="v2", scan_reads=0), tmp_path, tables)


def _example(name: str | None = None) -> dict[str, Any]:
    """The example agent; with ``name``, another agent of that name (no agent_id, so its own state key)."""
    raw: dict[str, Any] = json.loads(EXAMPLE.read_text())
    if name is not None:
        del raw["agent_id"]
        raw["name"] = name
    return raw


def _broken(name: str) -> dict[str, Any]:
    """An agent whose plan has an error finding (no system prompt), so an apply refuses it."""
    return {**agent_config(prompt={"prompt": ""}), "name": name}


@pytest.mark.parametrize("single", [True, False])
def test_a_tripped_gate_writes_nothing_and_asks_nothing(rig: Rig, single: bool) -> None:
    run = rig.run()
    items = rig.items(run, rig.file("support", _example()))
    asker = Asker()
    report = rig.flow(run, items, asker, fail_on=FailOn.lossy, single=single)
    assert report.gate and not report.applied and asker.questions == []
    assert report.exit_code() == EXIT_GATE
    assert rig.box.writes() == []


def test_the_error_gate_passes_a_plan_without_error_findings(rig: Rig) -> None:
    run = rig.run()
    items = rig.items(run, rig.file("support", _example()))
    report = rig.flow(run, items, Asker(), fail_on=FailOn.error, single=True)
    assert not report.gate and report.applied and report.exit_code() == 0
    assert rig.live_names() == ["Support Agent"]


@pytest.mark.parametrize("detailed, code", [(False, 0), (True, EXIT_CHANGES)])
def test_a_dry_run_applies_nothing_and_records_nothing(rig: Rig, detailed: bool, code: int) -> None:
    run = rig.run()
    items = rig.items(run, rig.file("support", _example()), rig.file("other", _example("Other")))
    asker = Asker()
    report = rig.flow(run, items, asker, dry_run=True, detailed_exitcode=detailed)
    assert not report.applied and asker.questions == [] and report.exit_code() == code
    assert rig.box.writes() == [] and load_state(rig.tmp / "state.json").agents == {}
    assert [i.status() for i in items] == ["create", "create"]


@pytest.mark.parametrize("single", [True, False])
def test_a_declined_confirmation_cancels_the_run_and_writes_nothing(rig: Rig, single: bool) -> None:
    run = rig.run()
    items = rig.items(run, rig.file("support", _example()))
    asker = Asker(answer=False)
    report = rig.flow(run, items, asker, single=single)
    assert len(asker.questions) == 1 and "Smallest Atoms" in asker.questions[0]
    assert report.cancelled and not report.applied
    assert report.error is not None and report.error.message == "cancelled; nothing was written"
    assert report.exit_code() == EXIT_ERROR
    assert rig.box.writes() == []


def test_an_accepted_plan_is_applied_and_recorded(rig: Rig) -> None:
    run = rig.run()
    items = rig.items(run, rig.file("support", _example()))
    report = rig.flow(run, items, Asker(), single=True)
    assert report.applied and report.exit_code() == 0
    (item,) = items
    assert item.outcome is not None and item.outcome.status == "created" and item.status() == "created"
    assert rig.live_names() == ["Support Agent"]
    assert list(load_state(rig.tmp / "state.json").agents) == [item.key]


@pytest.mark.parametrize("single", [True, False])
def test_an_unchanged_agent_is_recorded_without_asking(rig: Rig, single: bool) -> None:
    spec = rig.file("support", _example())
    first = rig.run("first.json")
    rig.flow(first, rig.items(first, spec), Asker(), single=True)
    writes = len(rig.box.writes())
    # A second project with a fresh state finds the agent by its marker: nothing to write, but recorded.
    second = rig.run("second.json")
    items = rig.items(second, spec)
    asker = Asker()
    report = rig.flow(second, items, asker, single=single)
    assert not report.applied and asker.questions == [] and report.exit_code() == 0
    agent_id = items[0].planned.target.agent_id if items[0].planned and items[0].planned.target else None
    assert agent_id is not None
    entry = load_state(rig.tmp / "second.json").agents[items[0].key]
    assert entry.smallest_agent_id == agent_id
    expected = f"Nothing to do: Atoms agent {agent_id} already matches the plan."
    assert rig.said[-1] == (expected if single else "Nothing to do: every agent already matches its plan.")
    assert len(rig.box.writes()) == writes  # recorded in the state, nothing written to Atoms
    assert rig.live_names() == ["Support Agent"]


def test_a_dry_run_of_an_unchanged_agent_records_nothing(rig: Rig) -> None:
    spec = rig.file("support", _example())
    first = rig.run("first.json")
    rig.flow(first, rig.items(first, spec), Asker(), single=True)
    second = rig.run("second.json")
    report = rig.flow(second, rig.items(second, spec), Asker(), single=True, dry_run=True)
    assert report.exit_code() == 0 and not (rig.tmp / "second.json").exists()


def test_a_single_agent_with_error_findings_is_refused_unless_allowed(rig: Rig) -> None:
    run = rig.run()
    items = rig.items(run, rig.file("broken", _broken("Broken")))
    asker = Asker()
    report = rig.flow(run, items, asker, single=True)
    assert report.error is not None and report.error.message.startswith("refused: the plan has 1 error finding(s)")
    assert "--allow-errors" in (report.error.hint or "")
    assert report.exit_code() == EXIT_ERROR and asker.questions == [] and rig.box.writes() == []
    dry = rig.flow(run, items, asker, single=True, dry_run=True, detailed_exitcode=True)
    assert dry.error is None and dry.exit_code() == EXIT_CHANGES
    assert rig.said[-1].startswith("note: without --allow-errors an apply would be refused")
    allowed = rig.flow(run, items, asker, single=True, allow_errors=True)
    assert allowed.applied and allowed.exit_code() == 0 and rig.live_names() == ["Broken"]


def test_a_batch_refuses_the_agent_with_error_findings_and_applies_the_others(rig: Rig) -> None:
    run = rig.run(batch=True)
    items = rig.items(run, rig.file("good", _example("Good")), rig.file("broken", _broken("Broken")))
    asker = Asker()
    report = rig.flow(run, items, asker, canary=None)
    assert report.applied and len(asker.questions) == 1
    assert [i.status() for i in items] == ["created", "failed"]
    assert items[1].error is not None and items[1].error.message.startswith("refused:")
    assert report.exit_code() == EXIT_ERROR
    assert rig.live_names() == ["Good"]
    assert any(line.startswith("Broken: refused:") for line in rig.said)


def test_a_failed_canary_leaves_the_other_agents_untouched(rig: Rig) -> None:
    from atoms_migrate.sandbox.atoms import FAIL_SCAN_MARK

    run = rig.run(batch=True)
    failing = _example("Canary")
    failing["conversation_config"]["agent"]["prompt"]["prompt"] += " " + FAIL_SCAN_MARK
    items = rig.items(run, rig.file("canary", failing), rig.file("other", _example("Other")))
    report = rig.flow(run, items, Asker())
    assert report.canary is items[0] and report.canary_failed
    assert [i.status() for i in items] == ["failed", "skipped"]
    assert items[1].message().startswith("not applied: the canary Canary failed")
    assert report.exit_code() == EXIT_ERROR
    assert "Other" not in rig.live_names()


def test_an_unknown_canary_is_a_config_error(rig: Rig) -> None:
    run = rig.run(batch=True)
    items = rig.items(run, rig.file("a", _example("A")), rig.file("b", _example("B")))
    with pytest.raises(ConfigError, match="--canary nobody"):
        rig.flow(run, items, Asker(), canary="nobody")
    assert rig.box.writes() == []


def _report(items: list[flow.Item], **fields: Any) -> flow.RunReport:
    options = flow.FlowOptions(detailed_exitcode=fields.pop("detailed", False))
    return flow.RunReport(items, flow.combined_plan(items), options, **fields)


@pytest.mark.parametrize(
    "fields, code",
    [
        ({}, 0),
        ({"detailed": True}, EXIT_CHANGES),  # planned changes, not applied
        ({"detailed": True, "applied": True}, 0),  # applied: --detailed-exitcode says nothing
        ({"gate": True, "detailed": True}, EXIT_GATE),  # the gate wins over 2
        ({"error": ConfigError("x")}, EXIT_ERROR),
        ({"gate": True, "error": ConfigError("x")}, EXIT_GATE),
    ],
)
def test_exit_code_mapping(rig: Rig, fields: dict[str, Any], code: int) -> None:
    run = rig.run(atoms=False)
    items = rig.items(run, rig.file("support", _example()))
    assert _report(items, **fields).exit_code() == code


def test_a_failed_agent_exits_1_even_with_changes_and_detailed_exitcode(rig: Rig) -> None:
    run = rig.run(atoms=False)
    items = rig.items(run, rig.file("support", _example()), rig.file("gone", _example("Gone")))
    items[1].error = ConfigError("unreadable")
    assert _report(items, detailed=True).exit_code() == EXIT_ERROR
    items[1].error, items[1].skipped = None, "not an agent"
    assert _report(items, detailed=True).exit_code() == EXIT_CHANGES
