"""The batch commands of the command line: ``all`` (many agents) and ``apply`` (a saved plan).

Part of the CLI layer (it reads the environment, prints and picks exit codes, like
``cli.py``, whose helpers it uses). A batch runs in phases: read and plan every agent on a
bounded pool (reads only), show and report the plan, stop for ``--dry-run`` or a tripped
``--fail-on``, ask once, then apply on the pool with every worker sharing one request gate
(``--max-rps``, and a global pause on 429) and one state lock. Each agent is isolated: its
failure is reported and the others go on; the exit code is 1 when any agent failed.
The state is saved after each agent, so the same command after an interruption finishes
the rest and leaves finished agents untouched.
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from atoms_migrate.cli import (
    _SECRET_VALUES,
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_GATE,
    AllowErrorsOption,
    DebugOption,
    DirectOption,
    ElevenLabsUrlOption,
    FailOn,
    MappingsOption,
    MergeOption,
    NoColorOption,
    OnConflict,
    OnConflictOption,
    OnDrift,
    OnDriftOption,
    SmallestUrlOption,
    StateOption,
    Versioning,
    WaitLockOption,
    YesOption,
    _atoms_client,
    _confirm,
    _elevenlabs_for_apply,
    _gate_tripped,
    _project_root,
    _refusal,
    _run_config,
    _save_plan,
    _state_lock,
    _write_file,
    _write_reports,
    app,
    error_boundary,
)
from atoms_migrate.errors import ConfigError, MigrationError, NotAnAgentConfig

DEFAULT_CONCURRENCY = 4

ConcurrencyOption = Annotated[int, typer.Option("--concurrency", help="Agents worked on at once.", min=1, max=64)]
MaxRpsOption = Annotated[
    float | None,
    typer.Option(
        "--max-rps",
        help="Cap on requests per second to Atoms, shared by all workers (429s pause every worker anyway).",
        min=0.1,
    ),
]
CanaryOption = Annotated[
    str | None,
    typer.Option(
        "--canary",
        metavar="SOURCE",
        help="Migrate this agent first (id, file or name) and stop before touching any other when its writes are refused or its read-back fails. Default: the first agent with changes.",
    ),
]
NoCanaryOption = Annotated[bool, typer.Option("--no-canary", help="Apply every agent at once, without a canary first.")]
JunitOption = Annotated[
    Path | None,
    typer.Option(
        "--junit",
        help="Write JUnit XML: one testcase per agent; error findings and failed applies are failures.",
        dir_okay=False,
    ),
]


class _Entry:
    """One agent through the batch: its spec, then its plan, then its outcome or error."""

    def __init__(self, spec: Any) -> None:
        self.spec, self.planned, self.outcome = spec, None, None
        self.source: Any = None  # the SourceAgent, once read
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


def _as_error(exc: BaseException) -> MigrationError:
    if isinstance(exc, MigrationError):
        return exc
    return MigrationError(
        f"unexpected {type(exc).__name__}: {exc}", "This is a bug in atoms-migrate; re-run with --debug."
    )


def _settle(result: Any) -> _Entry:
    """The entry of a pool result, with the exception it raised (if any) kept as its error."""
    entry: _Entry = result.item
    if result.error is not None:
        entry.error = _as_error(result.error)
    return entry


def _plan_phase(
    entries: list[_Entry], run: Any, concurrency: int, err: Console, offline_tools: dict[str, Any], check: Any = None
) -> None:
    """Read every entry, decide the Atoms names, then plan (reads only); failures and non-agent files are kept per entry.

    Names are decided between the two passes, for the batch as a whole: two sources with the
    same name (prod and dev copies) must not both be planned as that name (Atoms §K.5).
    """
    from atoms_migrate.report.progress import BatchProgress
    from atoms_migrate.source.select import plan_names, run_pool

    progress = BatchProgress(err, len(entries), "planning")

    def timed(work: Any) -> Any:
        def run_one(entry: _Entry) -> None:
            started = time.monotonic()
            try:
                work(entry)
            except NotAnAgentConfig as exc:
                if check is not None:  # a saved plan's agent that is no longer an agent config: refused, not skipped
                    entry.error = MigrationError(
                        f"refused: {exc.message}", "Plan again (--dry-run --out) and review the new plan."
                    )
                else:
                    entry.skipped = exc.message
            finally:
                entry.seconds += time.monotonic() - started

        return run_one

    def read_one(entry: _Entry) -> None:
        entry.source = run.read(entry.spec, offline_tools)

    names: dict[str, str] = {}

    def plan_one(entry: _Entry) -> None:
        entry.planned = run.plan(entry.source, name=names.get(entry.source.key))
        if check is not None:
            reason = check(entry)
            if reason:
                entry.error = MigrationError(
                    f"refused: {reason}", "Plan again (--dry-run --out) and review the new plan."
                )

    def done(result: Any) -> None:
        entry = _settle(result)
        if entry.skipped or entry.error:
            progress.finished(entry.key, entry.name, entry.status(), entry.message())

    try:
        run_pool(entries, timed(read_one), concurrency, on_done=done)
        read = [e for e in entries if e.source is not None and not e.skipped and e.error is None]
        state = run.state()
        names.update(
            plan_names((e.source.key, e.source.name, run.recorded_name(e.source, state)) for e in read if e.source.name)
        )
        run_pool(read, timed(plan_one), concurrency, on_done=done)
    finally:
        progress.stop()


def _apply_phase(entries: list[_Entry], run: Any, concurrency: int, err: Console) -> None:
    from atoms_migrate.report.progress import BatchProgress
    from atoms_migrate.source.select import run_pool

    todo = [e for e in entries if e.planned is not None and e.error is None]
    progress = BatchProgress(err, len(todo), "applying")
    run.progress = progress.event

    def apply_one(entry: _Entry) -> None:
        progress.started(entry.key, entry.name)
        started = time.monotonic()
        try:
            entry.outcome = run.apply(entry.planned)
        finally:
            entry.seconds += time.monotonic() - started

    def done(result: Any) -> None:
        entry = _settle(result)
        detail = entry.message() or (entry.outcome.result.agent_id if entry.outcome and entry.outcome.result else "")
        for failure in entry.outcome.resources.failures if entry.outcome else []:
            detail += f"; warning: {failure}"
        progress.finished(entry.key, entry.name, entry.status(), detail)

    try:
        run_pool(todo, apply_one, concurrency, on_done=done)
    finally:
        progress.stop()


def _canary(todo: list[_Entry], choice: str) -> _Entry | None:
    """The agent a batch applies first and alone: ``--canary SOURCE`` (id, key, file or name), else the first with changes.

    None when fewer than two agents have changes (nothing to protect).
    """
    changing = [e for e in todo if e.planned is not None and e.planned.plan.has_changes()]
    if len(changing) < 2:
        return None
    if not choice:
        return changing[0]
    for e in changing:
        if choice in (e.key, e.spec.ref, e.name, Path(e.spec.ref).name, e.spec.agent_id):
            return e
    raise ConfigError(
        f"--canary {choice}: no agent with changes in this batch matches it",
        "Name one of the agents the plan changes (its ElevenLabs id, file or name), or use --no-canary.",
    )


def _results(entries: list[_Entry]) -> dict[str, Any]:
    from atoms_migrate.report.ci import AgentResult

    return {e.key: AgentResult(e.status(), e.message(), e.seconds) for e in entries}


def _outputs(
    entries: list[_Entry],
    plan: Any,
    json_output: bool,
    report: Path | None,
    junit: Path | None,
    applied: bool,
    err: Console,
) -> None:
    """JSON on stdout, markdown report and step summary, JUnit, GitHub annotations."""
    from atoms_migrate.apply.run import describe
    from atoms_migrate.report.ci import github_annotations, junit_xml

    results = _results(entries)
    plans = list(plan.agents)
    if json_output:
        doc = plan.to_dict()
        if applied:
            doc["apply"] = [describe(e.outcome) for e in entries if e.outcome is not None]
        doc["problems"] = [
            {
                "source": e.spec.ref,
                "key": e.key,
                "status": e.status(),
                "message": e.message(),
                "hint": e.error.hint if e.error else "",
            }
            for e in entries
            if e.status() in ("failed", "skipped") and (e.outcome is None or e.outcome.result is None)
        ]
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    problems = [e for e in entries if e.planned is None]
    extra = (
        ("\n**Not planned**\n\n" + "".join(f"- `{e.spec.ref}`: {e.status()}: {e.message()}\n" for e in problems))
        if problems
        else ""
    )
    _write_reports(
        plan,
        report,
        {k: f"{r.status}{': ' + r.message if r.message else ''}" for k, r in results.items()} if applied else None,
        extra,
    )
    if junit:
        _write_file(junit, junit_xml(plans, results))
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for line in github_annotations(plans, results):
            err.print(line, markup=False, highlight=False, soft_wrap=True)


def _summary_table(entries: list[_Entry], out: Console) -> None:
    from rich.table import Table

    table = Table(title="atoms-migrate batch", highlight=False)
    for column in ("Agent", "Action", "Result", "Atoms agent", "Detail"):
        table.add_column(column)
    for e in entries:
        result = e.outcome.result if e.outcome else None
        table.add_row(
            e.name,
            e.planned.plan.action if e.planned else "-",
            e.status(),
            (result.agent_id if result else (e.planned.target.agent_id if e.planned and e.planned.target else ""))
            or "-",
            e.message()[:120],
        )
    counts: dict[str, int] = {}
    for e in entries:
        counts[e.status()] = counts.get(e.status(), 0) + 1
    out.print(table)
    out.print("Batch: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())), markup=False, highlight=False)


def _gates(max_rps: float | None) -> tuple[Any, Any]:
    from atoms_migrate.platforms.ratelimit import RequestGate

    return RequestGate(max_rps), RequestGate(None)


def _finish(entries: list[_Entry], applied: bool, out: Console) -> None:
    if applied:
        _summary_table(entries, out)
    if any(e.status() == "failed" for e in entries):
        raise typer.Exit(EXIT_ERROR)


@app.command("all")
def all_agents(
    source: Annotated[
        str | None,
        typer.Argument(
            help="A directory of agent files or an ElevenLabs CLI project; without it, every agent of the ElevenLabs account."
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan every agent and stop; nothing is written.")] = False,
    yes: YesOption = False,
    search: Annotated[str | None, typer.Option("--search", help="Only agents whose name contains this text.")] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", help="Only agents with this ElevenLabs tag (repeatable: any of them).", metavar="TAG"),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Only this agent id, state key or file name (repeatable).", metavar="ID"),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", help="Leave out this agent id, state key or file name (repeatable).", metavar="ID"),
    ] = None,
    shard_spec: Annotated[
        str | None,
        typer.Option("--shard", help="I/N: run slice I of N (stable by agent), for a CI matrix.", metavar="I/N"),
    ] = None,
    concurrency: ConcurrencyOption = DEFAULT_CONCURRENCY,
    max_rps: MaxRpsOption = None,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Save the plan for `atoms-migrate apply` (with --dry-run).", dir_okay=False),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the plan (and the results) as JSON on stdout (format_version 1).")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", help="Write a markdown report (also appended to $GITHUB_STEP_SUMMARY when set).", dir_okay=False
        ),
    ] = None,
    junit: JunitOption = None,
    state: StateOption = None,
    mappings: MappingsOption = None,
    tools_dir: Annotated[
        Path | None,
        typer.Option("--tools-dir", help="Folder of tool configs for tool_ids, for offline runs.", file_okay=False),
    ] = None,
    clone_voices: Annotated[
        bool, typer.Option("--clone-voices", help="Clone non-premade voices on Smallest (voice consent is yours).")
    ] = False,
    set_values: Annotated[
        list[str] | None,
        typer.Option("--set", help="NAME=VALUE for tool URL placeholders (repeatable).", metavar="NAME=VALUE"),
    ] = None,
    secrets: Annotated[
        list[str] | None,
        typer.Option(
            "--secret",
            help="NAME=VALUE for tool header secrets (repeatable; never shown or stored).",
            metavar="NAME=VALUE",
        ),
    ] = None,
    branch: Annotated[
        str | None, typer.Option("--branch", help="Stage every agent on this branch; promote each later.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Discard open drafts with someone else's edits instead of refusing.")
    ] = False,
    direct: DirectOption = False,
    canary: CanaryOption = None,
    no_canary: NoCanaryOption = False,
    elevenlabs_base_url: ElevenLabsUrlOption = None,
    smallest_base_url: SmallestUrlOption = None,
    versioning: Annotated[
        Versioning, typer.Option("--versioning", help="Atoms versioning model: auto, v2 or v1.", case_sensitive=False)
    ] = Versioning.auto,
    publish_timeout: Annotated[
        float, typer.Option("--publish-timeout", help="Seconds to wait for each publish.", min=1)
    ] = 120.0,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="With --dry-run: exit 2 when any plan has changes.")
    ] = False,
    fail_on: Annotated[
        FailOn | None,
        typer.Option(
            "--fail-on",
            help="Exit 3 before writing when any plan has findings at this level or worse.",
            case_sensitive=False,
        ),
    ] = None,
    on_drift: OnDriftOption = OnDrift.keep,
    on_conflict: OnConflictOption = OnConflict.fail,
    merge: MergeOption = False,
    allow_errors: AllowErrorsOption = False,
    wait_lock: WaitLockOption = 0.0,
    no_color: NoColorOption = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "-v",
            "--verbose",
            help="List ignored fields, the note behind every change, and both rendered calls of every tool.",
        ),
    ] = False,
    debug: DebugOption = False,
) -> None:
    """Migrate many agents: a whole ElevenLabs account, or a directory of exported agents."""
    err = Console(stderr=True, highlight=False, no_color=no_color or None, soft_wrap=True)
    with error_boundary(debug), nullcontext() if dry_run else _state_lock(state, wait_lock):
        from atoms_migrate.apply.run import Run
        from atoms_migrate.mapping.tables import load_tables
        from atoms_migrate.plan.planner import plan_all
        from atoms_migrate.report.progress import WaitProgress
        from atoms_migrate.source import select as batch
        from atoms_migrate.source.shapes import load_tools_dir

        tables = load_tables(mappings)
        config = _run_config(
            tables,
            state,
            set_values,
            secrets,
            clone_voices,
            branch,
            force,
            versioning.value,
            publish_timeout,
            direct,
            on_drift.value,
            on_conflict.value,
            merge,
        )
        atoms_gate, elevenlabs_gate = _gates(max_rps)
        atoms = _atoms_client(smallest_base_url, required=not dry_run, gate=atoms_gate)
        with _elevenlabs_for_apply(elevenlabs_base_url, elevenlabs_gate) as elevenlabs:
            notes: list[str] = []
            if source is None:
                if elevenlabs is None:
                    raise ConfigError(
                        "ELEVENLABS_API_KEY is not set, so the account's agents cannot be listed",
                        "Export ELEVENLABS_API_KEY, or pass a directory of exported agent files.",
                    )
                specs = batch.enumerate_account(elevenlabs, search=search)  # type: ignore[arg-type]
            else:
                directory = Path(source)
                if not directory.is_dir():
                    raise ConfigError(
                        f"{source} is not a directory",
                        "Pass a folder of agent files, or no SOURCE for the whole account.",
                    )
                specs, notes = batch.enumerate_directory(directory)
            specs = batch.select(specs, only or [], exclude or [], tag or [], search)
            if shard_spec:
                specs = batch.shard(specs, *batch.parse_shard(shard_spec))
            for note in notes:
                err.print(f"note: {note}", markup=False)
            if not specs:
                err.print("No agents to migrate (check SOURCE and the filters).", markup=False)
                return
            run = Run(config, atoms, elevenlabs, tracker=WaitProgress(err), batch=True)  # type: ignore[arg-type]
            run.reveal = lambda text: err.print(text, markup=False, highlight=False)
            entries = [_Entry(s) for s in specs]
            _plan_phase(entries, run, concurrency, err, load_tools_dir(tools_dir) if tools_dir else {})
            _run_batch(
                entries,
                run,
                config,
                concurrency,
                dry_run,
                yes,
                out_file,
                json_output,
                report,
                junit,
                detailed_exitcode,
                fail_on,
                no_color,
                verbose,
                err,
                plan_all,
                allow_errors,
                canary=None if no_canary else (canary or ""),
            )


def _run_batch(
    entries: list[_Entry],
    run: Any,
    config: Any,
    concurrency: int,
    dry_run: bool,
    yes: bool,
    out_file: Path | None,
    json_output: bool,
    report: Path | None,
    junit: Path | None,
    detailed_exitcode: bool,
    fail_on: Any,
    no_color: bool,
    verbose: bool,
    err: Console,
    plan_all: Any,
    allow_errors: bool = False,
    canary: str | None = "",
) -> None:
    """Everything after planning, shared by `all` and `apply`: show, gate, ask, apply, report.

    An agent whose plan has error findings is refused (failed, with the reason) unless
    ``allow_errors``; the others go on, and the exit code is 1. A canary (``canary``: the
    agent named, "" for the first with changes, None for none) is applied first and alone.
    """
    planned = [e for e in entries if e.planned is not None and e.error is None]
    for e in planned:
        _SECRET_VALUES.update(e.planned.plan.secret_values.values())
    plan = plan_all([e.planned.plan for e in planned])
    out = Console(highlight=False, no_color=no_color or None, soft_wrap=True)
    if not json_output:
        from atoms_migrate.report.human import render_plan

        render_plan(plan, out, verbose=verbose)
    if out_file:
        _save_plan(
            out_file,
            [
                (
                    {
                        "kind": e.spec.kind,
                        "ref": e.spec.ref,
                        **({"agent_id": e.spec.agent_id} if e.spec.agent_id else {}),
                    },
                    e.planned,
                )
                for e in planned
            ],
            config,
        )
    gate = _gate_tripped(plan, fail_on)
    if not allow_errors and not gate:
        for e in planned:
            refusal = _refusal(e.planned.plan)
            if refusal is not None:
                if dry_run:
                    err.print(
                        f"note: {e.name}: without --allow-errors an apply would be {refusal.message}", markup=False
                    )
                else:
                    e.error = refusal
                    err.print(f"{e.name}: {refusal.message}", markup=False)
        if any(e.error is not None for e in planned):
            err.print(
                "  hint: the other agents go on; fix the sources, or pass --allow-errors to apply them anyway.",
                markup=False,
            )
        planned = [e for e in planned if e.error is None]
    if dry_run or gate or not any(e.planned.plan.has_changes() for e in planned):
        if not dry_run and not gate and planned:
            for e in planned:
                run.record_unchanged(e.planned)
            err.print(
                f"Nothing to do: {'every agent' if len(planned) == len(entries) else 'every agent planned and not refused'} "
                "already matches its plan.",
                markup=False,
            )
        _outputs(entries, plan, json_output, report, junit, applied=False, err=err)
        if gate:
            err.print(
                f"--fail-on {fail_on.value}: a plan has findings at that level (see Needs review). Nothing was written.",
                markup=False,
            )
            raise typer.Exit(EXIT_GATE)
        if any(e.status() == "failed" for e in entries):
            raise typer.Exit(EXIT_ERROR)
        if detailed_exitcode and plan.has_changes():
            raise typer.Exit(EXIT_CHANGES)
        return
    summary = plan.summary()
    _confirm(
        f"Apply to Smallest Atoms: {summary['create']} to create, {summary['update']} to update, "
        f"{summary['no-op']} unchanged?",
        yes,
    )
    todo = [e for e in entries if e.planned is not None and e.error is None]
    first = _canary(todo, canary) if canary is not None else None
    if first is not None:
        err.print(
            f"Canary: migrating {first.name} ({first.key}) first; the others wait for its read-back.", markup=False
        )
        _apply_phase([first], run, 1, err)
        from atoms_migrate.apply.applier import ConcurrentEdit

        conflict = isinstance(first.outcome.error if first.outcome else first.error, ConcurrentEdit)
        if first.status() == "failed" and not conflict:  # a concurrent edit is that agent's own news
            for e in todo:
                if e is not first:
                    e.skipped = f"not applied: the canary {first.name} failed ({first.message()})"
            err.print(
                f"Canary {first.name} failed: no other agent was touched. Fix it and re-run (or --no-canary).",
                markup=False,
            )
        else:
            _apply_phase([e for e in todo if e is not first], run, concurrency, err)
    else:
        _apply_phase(entries, run, concurrency, err)
    _outputs(entries, plan, json_output, report, junit, applied=True, err=err)
    _finish(entries, applied=True, out=Console(stderr=json_output, highlight=False, no_color=no_color or None))


@app.command("apply")
def apply_saved(
    plan_file: Annotated[Path, typer.Argument(help="A plan saved with --dry-run --out.", dir_okay=False)],
    yes: YesOption = False,
    secrets: Annotated[
        list[str] | None,
        typer.Option(
            "--secret",
            help="NAME=VALUE for tool header secrets (repeatable; never shown or stored).",
            metavar="NAME=VALUE",
        ),
    ] = None,
    concurrency: ConcurrencyOption = DEFAULT_CONCURRENCY,
    max_rps: MaxRpsOption = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the plan and the results as JSON on stdout.")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", help="Write a markdown report (also appended to $GITHUB_STEP_SUMMARY when set).", dir_okay=False
        ),
    ] = None,
    junit: JunitOption = None,
    state: StateOption = None,
    mappings: MappingsOption = None,
    canary: CanaryOption = None,
    no_canary: NoCanaryOption = False,
    tools_dir: Annotated[
        Path | None,
        typer.Option("--tools-dir", help="Folder of tool configs for tool_ids, as when planning.", file_okay=False),
    ] = None,
    allow_errors: AllowErrorsOption = False,
    elevenlabs_base_url: ElevenLabsUrlOption = None,
    smallest_base_url: SmallestUrlOption = None,
    wait_lock: WaitLockOption = 0.0,
    no_color: NoColorOption = False,
    debug: DebugOption = False,
) -> None:
    """Apply a saved plan exactly: agents whose source or target changed since planning are refused."""
    err = Console(stderr=True, highlight=False, no_color=no_color or None, soft_wrap=True)
    with error_boundary(debug), _state_lock(state, wait_lock):
        from atoms_migrate.apply import saved as savedplan
        from atoms_migrate.apply.run import Run
        from atoms_migrate.apply.state import tables_hash
        from atoms_migrate.mapping.tables import load_tables
        from atoms_migrate.plan.planner import plan_all
        from atoms_migrate.report.progress import WaitProgress
        from atoms_migrate.source.select import SourceSpec
        from atoms_migrate.source.shapes import load_tools_dir

        doc = savedplan.load(plan_file, _project_root(state))
        settings = doc.get("settings") or {}
        tables = load_tables(mappings)
        config = _run_config(
            tables,
            state,
            [f"{k}={v}" for k, v in (settings.get("set") or {}).items()],
            secrets,
            bool(settings.get("clone_voices")),
            settings.get("branch"),
            bool(settings.get("force")),
            str(settings.get("versioning") or "auto"),
            float(settings.get("publish_timeout") or 120.0),
            bool(settings.get("direct")),
            str(settings.get("on_drift") or "keep"),
            str(settings.get("on_conflict") or "fail"),
            bool(settings.get("merge")),
        )
        missing = sorted(n for n in settings.get("secret_names") or [] if not config.tool_options.has_secret(n))
        if missing:
            raise ConfigError(
                f"the plan was made with secrets that are not given now: {', '.join(missing)}",
                "Pass each again with --secret NAME=VALUE (or ATOMS_MIGRATE_SECRET_<NAME>).",
            )
        atoms_gate, elevenlabs_gate = _gates(max_rps)
        atoms = _atoms_client(smallest_base_url, required=True, gate=atoms_gate)
        with _elevenlabs_for_apply(elevenlabs_base_url, elevenlabs_gate) as elevenlabs:
            run = Run(config, atoms, elevenlabs, tracker=WaitProgress(err), batch=len(doc.get("agents") or []) > 1)  # type: ignore[arg-type]
            run.reveal = lambda text: err.print(text, markup=False, highlight=False)
            entries, saved = [], {}
            for item in doc.get("agents") or []:
                src = item["source"]
                entry = _Entry(
                    SourceSpec(
                        src["ref"], src["kind"], item["plan"]["source"].get("name") or "", agent_id=src.get("agent_id")
                    )
                )
                saved[id(entry)] = item
                entries.append(entry)
            now_hash = tables_hash(tables)

            def check(entry: _Entry) -> str | None:
                return savedplan.refusal(saved[id(entry)], entry.planned, now_hash, str(doc.get("tables_hash")))

            _plan_phase(entries, run, concurrency, err, load_tools_dir(tools_dir) if tools_dir else {}, check=check)
            _run_batch(
                entries,
                run,
                config,
                concurrency,
                False,
                yes,
                None,
                json_output,
                report,
                junit,
                False,
                None,
                no_color,
                False,
                err,
                plan_all,
                allow_errors,
                canary=None if no_canary else (canary or ""),
            )
