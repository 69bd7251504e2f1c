"""The one post-plan flow of ``agent``, ``all`` and ``apply``: gate, dry run, record unchanged, confirm, apply.

``plan_items`` reads and plans a batch on a bounded pool (reads only); ``post_plan`` takes planned items through
the rest and returns a ``RunReport``, from which the CLI renders the outcome and picks the exit code:

1. the ``--fail-on`` gate and the error-finding refusal (``gate.py``; the refusal unless ``allow_errors``);
2. stop without writing for a dry run, a tripped gate, or a plan with nothing to write (recording the
   unchanged agents, so the next run knows their baseline);
3. ask the injected ``confirm`` once, then apply: one agent directly, a batch on the pool with a canary first.

Nothing here prints, prompts, reads the environment or exits: messages go to ``say``, the question to
``confirm``, progress to a ``PhaseProgress``. ``single`` (the ``agent`` command) makes a refusal or an unsettled
conflict end the run as its ``error``; in a batch they are that agent's failure and the others go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from atoms_migrate.apply.applier import ConcurrentEdit
from atoms_migrate.apply.gate import FailOn, gate_tripped, refusal
from atoms_migrate.apply.run import Outcome, Planned, Run
from atoms_migrate.errors import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_GATE,
    Cancelled,
    ConfigError,
    MigrationError,
    NotAnAgentConfig,
)
from atoms_migrate.model import Plan
from atoms_migrate.plan.planner import plan_all
from atoms_migrate.source.select import PoolResult, SourceSpec, plan_names, run_pool
from atoms_migrate.source.shapes import SourceAgent

Confirm = Callable[[str], bool]  # the question -> may we write? (the CLI asks on the terminal, or --yes)
Say = Callable[[str], None]  # one line for the user (the CLI prints it on stderr)


class PhaseProgress(Protocol):
    """A batch phase's progress display (``report.progress.BatchProgress``); workers call it from their threads."""

    def started(self, key: str, name: str) -> None: ...

    def event(self, key: str, text: str) -> None: ...

    def finished(self, key: str, name: str, status: str, detail: str = "") -> None: ...

    def stop(self) -> None: ...


ProgressFactory = Callable[[int, str], PhaseProgress]  # (agents in the phase, "planning" | "applying")


class SilentProgress:
    """A progress display that shows nothing (tests, and callers without a display)."""

    def started(self, key: str, name: str) -> None:
        pass

    def event(self, key: str, text: str) -> None:
        pass

    def finished(self, key: str, name: str, status: str, detail: str = "") -> None:
        pass

    def stop(self) -> None:
        pass


def silent(total: int, what: str) -> PhaseProgress:
    return SilentProgress()


class Item:
    """One agent through a run: its spec, then its source and plan, then its outcome, or why it stopped."""

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        self.source: SourceAgent | None = None  # once read
        self.planned: Planned | None = None  # once planned
        self.outcome: Outcome | None = None  # once applied
        self.error: MigrationError | None = None
        self.skipped = ""
        self.seconds = 0.0

    @property
    def key(self) -> str:
        return self.planned.source.key if self.planned else self.spec.key

    @property
    def name(self) -> str:
        return (self.planned.plan.source.name if self.planned else None) or self.spec.name or self.spec.ref

    def status(self) -> str:
        if self.skipped:
            return "skipped"
        if self.error is not None or (self.outcome is not None and self.outcome.status == "failed"):
            return "failed"
        if self.planned is not None and self.planned.plan.blocked:
            return "failed"  # a conflict nobody said how to settle: nothing is written
        if self.outcome is not None:
            return self.outcome.status
        return self.planned.plan.action if self.planned else "failed"

    def message(self) -> str:
        if self.skipped:
            return self.skipped
        error = self.error or (self.outcome.error if self.outcome else None)
        if error is None and self.planned is not None and self.planned.plan.blocked:
            return "conflict: the source and the Atoms agent both changed; see --merge / --on-conflict"
        if (
            error is None
            and self.planned is not None
            and self.planned.plan.sync == "drifted"
            and self.planned.plan.resolution == "keep"
        ):
            return "drifted: edited on Atoms, kept (--on-drift overwrite re-applies the source)"
        return error.message if error else ""


def as_error(exc: BaseException) -> MigrationError:
    """An agent's exception as its error: expected failures as they are, anything else named as a bug."""
    if isinstance(exc, MigrationError):
        return exc
    return MigrationError(
        f"unexpected {type(exc).__name__}: {exc}", "This is a bug in atoms-migrate; re-run with --debug."
    )


def _settle(result: PoolResult) -> Item:
    """The item of a pool result, with the exception it raised (if any) kept as its error."""
    item: Item = result.item
    if result.error is not None:
        item.error = as_error(result.error)
    return item


SavedCheck = Callable[[Item], str | None]  # why a saved plan's agent must not be applied now (None: it may)


def plan_items(
    items: list[Item],
    run: Run,
    concurrency: int,
    progress: PhaseProgress,
    offline_tools: dict[str, Any],
    check: SavedCheck | None = None,
) -> None:
    """Read every item, decide the Atoms names, then plan (reads only); failures and non-agent files stay per item.

    Names are decided between the two passes, for the batch as a whole: two sources with the
    same name (prod and dev copies) must not both be planned as that name (Atoms §K.5).
    ``check`` (``apply PLAN``) refuses an item whose saved plan no longer holds.
    """

    def timed(work: Callable[[Item], None]) -> Callable[[Item], None]:
        def run_one(item: Item) -> None:
            started = time.monotonic()
            try:
                work(item)
            except NotAnAgentConfig as exc:
                if check is not None:  # a saved plan's agent that is no longer an agent config: refused, not skipped
                    item.error = MigrationError(
                        f"refused: {exc.message}", "Plan again (--dry-run --out) and review the new plan."
                    )
                else:
                    item.skipped = exc.message
            finally:
                item.seconds += time.monotonic() - started

        return run_one

    def read_one(item: Item) -> None:
        item.source = run.read(item.spec, offline_tools)

    names: dict[str, str] = {}

    def plan_one(item: Item) -> None:
        assert item.source is not None
        item.planned = run.plan(item.source, name=names.get(item.source.key))
        if check is not None:
            reason = check(item)
            if reason:
                item.error = MigrationError(
                    f"refused: {reason}", "Plan again (--dry-run --out) and review the new plan."
                )

    def done(result: PoolResult) -> None:
        item = _settle(result)
        if item.skipped or item.error:
            progress.finished(item.key, item.name, item.status(), item.message())

    try:
        run_pool(items, timed(read_one), concurrency, on_done=done)
        read = [i for i in items if i.source is not None and not i.skipped and i.error is None]
        state = run.state()
        names.update(
            plan_names(
                (i.source.key, i.source.name, run.recorded_name(i.source, state))
                for i in read
                if i.source is not None and i.source.name
            )
        )
        run_pool(read, timed(plan_one), concurrency, on_done=done)
    finally:
        progress.stop()


def planned_items(items: list[Item]) -> list[Item]:
    """The items that have a plan and no error."""
    return [i for i in items if i.planned is not None and i.error is None]


def combined_plan(items: list[Item]) -> Plan:
    """The plan of every planned item, as rendered, saved and reported."""
    return plan_all([_planned(i).plan for i in planned_items(items)])


def _planned(item: Item) -> Planned:
    assert item.planned is not None, "only planned items reach this point"
    return item.planned


@dataclass(frozen=True)
class FlowOptions:
    dry_run: bool = False
    fail_on: FailOn | None = None
    allow_errors: bool = False
    detailed_exitcode: bool = False
    single: bool = False  # the `agent` command: one agent, whose refusal or conflict is the run's error
    canary: str | None = ""  # a batch's canary: the agent named, "" for the first with changes, None for none
    concurrency: int = 1


@dataclass
class RunReport:
    """What the post-plan flow did: enough for the CLI to render the outcome and pick the exit code."""

    items: list[Item]
    plan: Plan
    options: FlowOptions
    gate: bool = False  # --fail-on tripped: nothing was written
    applied: bool = False  # the apply phase ran
    cancelled: bool = False  # the confirmation was declined: nothing was written
    error: MigrationError | None = (
        None  # what ended the whole run (a declined confirmation; `agent`: refusal, conflict)
    )
    canary: Item | None = None  # the agent a batch applied first and alone
    canary_failed: bool = False  # ... and it failed, so no other agent was touched

    def failed(self) -> list[Item]:
        return [i for i in self.items if i.status() == "failed"]

    def exit_code(self) -> int:
        """The documented exit code (README "Exit codes"): 3 gate, 1 error or failed agent, 2 changes, else 0."""
        if self.gate:
            return EXIT_GATE
        if self.error is not None:
            return self.error.exit_code
        if self.failed():
            return EXIT_ERROR
        if self.options.detailed_exitcode and not self.applied and self.plan.has_changes():
            return EXIT_CHANGES
        return 0


def post_plan(
    items: list[Item],
    plan: Plan,
    run: Run,
    options: FlowOptions,
    confirm: Confirm,
    say: Say = lambda text: None,
    progress: ProgressFactory = silent,
) -> RunReport:
    """Everything after planning: gate, refuse, stop or record unchanged, confirm, apply (see the module doc).

    ``plan`` is ``combined_plan(items)``, already shown to the user. Agents' failures are kept on their
    items; what ends the run as a whole is the report's ``error``.
    """
    report = RunReport(items, plan, options, gate=gate_tripped(plan, options.fail_on))
    if options.single:
        _single(report, run, confirm, say)
    else:
        _batch(report, run, confirm, say, progress)
    return report


def _single(report: RunReport, run: Run, confirm: Confirm, say: Say) -> None:
    options = report.options
    (item,) = report.items
    planned = _planned(item)
    agent_plan = planned.plan
    refused = None if options.allow_errors else refusal(agent_plan)
    if options.dry_run or report.gate or refused or not report.plan.has_changes():
        if agent_plan.blocked:
            item.outcome = run.apply(planned)  # writes nothing: says why
            report.error = item.outcome.error or MigrationError("conflict")
            report.gate = False  # the conflict is what the user must settle first
            return
        if report.gate:
            return
        if refused is not None:
            if options.dry_run:
                say(f"note: without --allow-errors an apply would be {refused.message}")
            else:
                report.error = refused
            return
        if not options.dry_run and planned.target is not None:
            run.record_unchanged(planned)
            agent_id = planned.target.agent_id
            if agent_plan.sync == "drifted":
                say(
                    f"Kept the edits made on Atoms agent {agent_id}; nothing was written "
                    "(--on-drift overwrite re-applies the source)."
                )
            elif agent_plan.resolution == "target":
                say(f"Kept the edits made on Atoms agent {agent_id} and recorded the new source; nothing was written.")
            else:
                say(f"Nothing to do: Atoms agent {agent_id} already matches the plan.")
        return
    if not confirm(f"Apply this plan to Smallest Atoms ({agent_plan.action} {agent_plan.source.name!r})?"):
        report.cancelled, report.error = True, Cancelled()
        return
    report.applied = True
    item.outcome = run.apply(planned)


def _batch(report: RunReport, run: Run, confirm: Confirm, say: Say, progress: ProgressFactory) -> None:
    options, items = report.options, report.items
    planned = planned_items(items)
    if not options.allow_errors and not report.gate:
        for item in planned:
            refused = refusal(_planned(item).plan)
            if refused is None:
                continue
            if options.dry_run:
                say(f"note: {item.name}: without --allow-errors an apply would be {refused.message}")
            else:
                item.error = refused
                say(f"{item.name}: {refused.message}")
        if any(i.error is not None for i in planned):
            say("  hint: the other agents go on; fix the sources, or pass --allow-errors to apply them anyway.")
        planned = [i for i in planned if i.error is None]
    if options.dry_run or report.gate or not any(_planned(i).plan.has_changes() for i in planned):
        if not options.dry_run and not report.gate and planned:
            for item in planned:
                run.record_unchanged(_planned(item))
            every = "every agent" if len(planned) == len(items) else "every agent planned and not refused"
            say(f"Nothing to do: {every} already matches its plan.")
        return
    summary = report.plan.summary()
    question = (
        f"Apply to Smallest Atoms: {summary['create']} to create, {summary['update']} to update, "
        f"{summary['no-op']} unchanged?"
    )
    if not confirm(question):
        report.cancelled, report.error = True, Cancelled()
        return
    report.applied = True
    todo = planned_items(items)
    first = canary(todo, options.canary) if options.canary is not None else None
    if first is None:
        apply_items(todo, run, options.concurrency, progress)
        return
    report.canary = first
    say(f"Canary: migrating {first.name} ({first.key}) first; the others wait for its read-back.")
    apply_items([first], run, 1, progress)
    conflict = isinstance(first.outcome.error if first.outcome else first.error, ConcurrentEdit)
    if first.status() == "failed" and not conflict:  # a concurrent edit is that agent's own news
        report.canary_failed = True
        for item in todo:
            if item is not first:
                item.skipped = f"not applied: the canary {first.name} failed ({first.message()})"
        say(f"Canary {first.name} failed: no other agent was touched. Fix it and re-run (or --no-canary).")
    else:
        apply_items([i for i in todo if i is not first], run, options.concurrency, progress)


def canary(todo: list[Item], choice: str) -> Item | None:
    """The agent a batch applies first and alone: ``choice`` (id, key, file or name), else the first with changes.

    None when fewer than two agents have changes (nothing to protect).
    """
    changing = [i for i in todo if i.planned is not None and i.planned.plan.has_changes()]
    if len(changing) < 2:
        return None
    if not choice:
        return changing[0]
    for item in changing:
        if choice in (item.key, item.spec.ref, item.name, Path(item.spec.ref).name, item.spec.agent_id):
            return item
    raise ConfigError(
        f"--canary {choice}: no agent with changes in this batch matches it",
        "Name one of the agents the plan changes (its ElevenLabs id, file or name), or use --no-canary.",
    )


def apply_items(items: list[Item], run: Run, concurrency: int, progress: ProgressFactory) -> None:
    """Apply every planned item on the pool; each item's failure stays its own (``Item.error``/``outcome``)."""
    todo = planned_items(items)
    display = progress(len(todo), "applying")
    run.progress = display.event

    def apply_one(item: Item) -> None:
        display.started(item.key, item.name)
        started = time.monotonic()
        try:
            item.outcome = run.apply(_planned(item))
        finally:
            item.seconds += time.monotonic() - started

    def done(result: PoolResult) -> None:
        item = _settle(result)
        detail = item.message() or (item.outcome.result.agent_id if item.outcome and item.outcome.result else "")
        for failure in item.outcome.resources.failures if item.outcome else []:
            detail += f"; warning: {failure}"
        display.finished(item.key, item.name, item.status(), detail)

    try:
        run_pool(todo, apply_one, concurrency, on_done=done)
    finally:
        display.stop()
