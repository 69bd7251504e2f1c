"""The batch commands: ``all`` (many agents) and ``apply`` (a saved plan).

A batch runs in phases (``apply.flow``): read and plan every agent on a bounded pool
(reads only), show and report the plan, stop for ``--dry-run`` or a tripped
``--fail-on``, ask once, then apply on the pool with every worker sharing one request gate
(``--max-rps``, and a global pause on 429) and one state lock. Each agent is isolated: its
failure is reported and the others go on; the exit code is 1 when any agent failed.
The state is saved after each agent, so the same command after an interruption finishes
the rest and leaves finished agents untouched.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from atoms_migrate.cli.boundary import error_boundary, remember_secrets
from atoms_migrate.cli.clients import atoms_client, elevenlabs_for_apply, request_gates, required_atoms_client
from atoms_migrate.cli.context import project_root, run_config, state_lock
from atoms_migrate.cli.options import (
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
    ReportOption,
    SmallestUrlOption,
    StateOption,
    VerboseOption,
    Versioning,
    WaitLockOption,
    YesOption,
)
from atoms_migrate.cli.output import ask, err_console, out_console, print_json, save_plan, write_file, write_reports
from atoms_migrate.cli.root import app
from atoms_migrate.errors import ConfigError
from atoms_migrate.settings import Settings

if TYPE_CHECKING:  # the core is imported inside the commands, so `--help` stays fast
    from atoms_migrate.apply import flow
    from atoms_migrate.apply.run import Run, RunConfig
    from atoms_migrate.model import Plan
    from atoms_migrate.report.ci import AgentResult
    from atoms_migrate.source.select import SourceSpec

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
        help="Migrate this agent first (id, file or name) and stop before touching any other when its writes are "
        "refused or its read-back fails. Default: the first agent with changes.",
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


@dataclass(frozen=True)
class _Outputs:
    """Where a batch's results go besides the terminal."""

    settings: Settings
    json_output: bool
    report: Path | None
    junit: Path | None
    out_file: Path | None = None
    no_color: bool = False
    verbose: bool = False


def _results(items: list[flow.Item]) -> dict[str, AgentResult]:
    from atoms_migrate.report.ci import AgentResult

    return {i.key: AgentResult(i.status(), i.message(), i.seconds) for i in items}


def _outputs(items: list[flow.Item], plan: Plan, outputs: _Outputs, applied: bool, err: Console) -> None:
    """JSON on stdout, markdown report and step summary, JUnit, GitHub annotations."""
    from atoms_migrate.apply.run import describe
    from atoms_migrate.report.ci import github_annotations, junit_xml

    results = _results(items)
    plans = list(plan.agents)
    if outputs.json_output:
        doc = plan.to_dict()
        if applied:
            doc["apply"] = [describe(i.outcome) for i in items if i.outcome is not None]
        doc["problems"] = [
            {
                "source": i.spec.ref,
                "key": i.key,
                "status": i.status(),
                "message": i.message(),
                "hint": i.error.hint if i.error else "",
            }
            for i in items
            if i.status() in ("failed", "skipped") and (i.outcome is None or i.outcome.result is None)
        ]
        print_json(doc)
    problems = [i for i in items if i.planned is None]
    extra = (
        ("\n**Not planned**\n\n" + "".join(f"- `{i.spec.ref}`: {i.status()}: {i.message()}\n" for i in problems))
        if problems
        else ""
    )
    write_reports(
        plan,
        outputs.report,
        {k: f"{r.status}{': ' + r.message if r.message else ''}" for k, r in results.items()} if applied else None,
        extra,
        settings=outputs.settings,
    )
    if outputs.junit:
        write_file(outputs.junit, junit_xml(plans, results))
    if outputs.settings.github_actions:
        for line in github_annotations(plans, results):
            err.print(line, markup=False, highlight=False, soft_wrap=True)


def _summary_table(items: list[flow.Item], out: Console) -> None:
    from rich.table import Table

    table = Table(title="atoms-migrate batch", highlight=False)
    for column in ("Agent", "Action", "Result", "Atoms agent", "Detail"):
        table.add_column(column)
    for item in items:
        result = item.outcome.result if item.outcome else None
        planned = item.planned
        target = planned.target.agent_id if planned and planned.target else ""
        table.add_row(
            item.name,
            planned.plan.action if planned else "-",
            item.status(),
            (result.agent_id if result else target) or "-",
            item.message()[:120],
        )
    counts: dict[str, int] = {}
    for item in items:
        counts[item.status()] = counts.get(item.status(), 0) + 1
    out.print(table)
    out.print("Batch: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())), markup=False, highlight=False)


@app.command("all")
def all_agents(
    source: Annotated[
        str | None,
        typer.Argument(
            help="A directory of agent files or an ElevenLabs CLI project; without it, every agent of the "
            "ElevenLabs account."
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
    report: ReportOption = None,
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
    verbose: VerboseOption = False,
    debug: DebugOption = False,
) -> None:
    """Migrate many agents: a whole ElevenLabs account, or a directory of exported agents."""
    err = err_console(no_color)
    with error_boundary(debug), nullcontext() if dry_run else state_lock(state, wait_lock):
        from atoms_migrate.apply import flow
        from atoms_migrate.apply.run import Run
        from atoms_migrate.mapping.tables import load_tables
        from atoms_migrate.report.progress import BatchProgress, WaitProgress
        from atoms_migrate.source import select as batch
        from atoms_migrate.source.shapes import load_tools_dir

        tables = load_tables(mappings)
        settings = Settings.from_env()
        config = run_config(
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
            settings=settings,
        )
        atoms_gate, elevenlabs_gate = request_gates(max_rps)
        atoms = atoms_client(smallest_base_url, required=not dry_run, gate=atoms_gate, settings=settings)
        with elevenlabs_for_apply(elevenlabs_base_url, elevenlabs_gate, settings=settings) as elevenlabs:
            notes: list[str] = []
            if source is None:
                if elevenlabs is None:
                    raise ConfigError(
                        "ELEVENLABS_API_KEY is not set, so the account's agents cannot be listed",
                        "Export ELEVENLABS_API_KEY, or pass a directory of exported agent files.",
                    )
                specs = batch.enumerate_account(elevenlabs, search=search)
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
            run = Run(config, atoms, elevenlabs, tracker=WaitProgress(err), batch=True)
            run.reveal = lambda text: err.print(text, markup=False, highlight=False)
            items = [flow.Item(s) for s in specs]
            flow.plan_items(
                items,
                run,
                concurrency,
                BatchProgress(err, len(items), "planning"),
                load_tools_dir(tools_dir) if tools_dir else {},
            )
            options = flow.FlowOptions(
                dry_run=dry_run,
                fail_on=fail_on,
                allow_errors=allow_errors,
                detailed_exitcode=detailed_exitcode,
                canary=None if no_canary else (canary or ""),
                concurrency=concurrency,
            )
            _run_batch(
                items,
                run,
                config,
                options,
                _Outputs(settings, json_output, report, junit, out_file, no_color, verbose),
                yes,
                err,
            )


def _run_batch(
    items: list[flow.Item],
    run: Run,
    config: RunConfig,
    options: flow.FlowOptions,
    outputs: _Outputs,
    yes: bool,
    err: Console,
) -> None:
    """Everything after planning, shared by `all` and `apply`: show and save the plan, run the post-plan flow
    (``apply.flow``), write the outputs, and exit with the report's code."""
    from atoms_migrate.apply import flow
    from atoms_migrate.report.human import render_plan
    from atoms_migrate.report.progress import BatchProgress

    planned = flow.planned_items(items)
    for item in planned:
        assert item.planned is not None
        remember_secrets(item.planned.plan.secret_values.values())
    plan = flow.combined_plan(items)
    if not outputs.json_output:
        render_plan(plan, out_console(outputs.no_color), verbose=outputs.verbose)
    if outputs.out_file:
        save_plan(outputs.out_file, [(_saved_source(i.spec), i.planned) for i in planned if i.planned], config)

    def say(text: str) -> None:
        err.print(text, markup=False)

    report = flow.post_plan(
        items,
        plan,
        run,
        options,
        confirm=lambda question: ask(question, yes),
        say=say,
        progress=lambda total, what: BatchProgress(err, total, what),
    )
    if report.cancelled and report.error is not None:
        raise report.error
    _outputs(items, plan, outputs, applied=report.applied, err=err)
    if report.gate and options.fail_on is not None:
        say(
            f"--fail-on {options.fail_on.value}: a plan has findings at that level (see Needs review). "
            "Nothing was written."
        )
    if report.applied:
        _summary_table(items, Console(stderr=outputs.json_output, highlight=False, no_color=outputs.no_color or None))
    if report.exit_code():
        raise typer.Exit(report.exit_code())


def _saved_source(spec: SourceSpec) -> dict[str, str]:
    """How a saved plan names an agent's source (``apply PLAN`` reads it again from there)."""
    return {"kind": spec.kind, "ref": spec.ref, **({"agent_id": spec.agent_id} if spec.agent_id else {})}


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
    report: ReportOption = None,
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
    err = err_console(no_color)
    with error_boundary(debug), state_lock(state, wait_lock):
        from atoms_migrate.apply import flow
        from atoms_migrate.apply import saved as savedplan
        from atoms_migrate.apply.run import Run
        from atoms_migrate.mapping.tables import load_tables
        from atoms_migrate.report.progress import BatchProgress, WaitProgress
        from atoms_migrate.source.shapes import load_tools_dir

        saved = savedplan.load(plan_file, project_root(state))
        settings = Settings.from_env()
        config = run_config(
            load_tables(mappings), state, secrets=secrets, settings=settings, **saved.settings.run_options()
        )
        saved.settings.check_secrets(config.tool_options)  # before any client is made
        atoms_gate, elevenlabs_gate = request_gates(max_rps)
        atoms = required_atoms_client(smallest_base_url, gate=atoms_gate, settings=settings)
        with elevenlabs_for_apply(elevenlabs_base_url, elevenlabs_gate, settings=settings) as elevenlabs:
            run = Run(config, atoms, elevenlabs, tracker=WaitProgress(err), batch=len(saved.agents) > 1)
            run.reveal = lambda text: err.print(text, markup=False, highlight=False)
            items = savedplan.plan_again(
                saved,
                run,
                concurrency,
                BatchProgress(err, len(saved.agents), "planning"),
                load_tools_dir(tools_dir) if tools_dir else {},
            )
            options = flow.FlowOptions(
                allow_errors=allow_errors, canary=None if no_canary else (canary or ""), concurrency=concurrency
            )
            _run_batch(items, run, config, options, _Outputs(settings, json_output, report, junit), yes, err)
