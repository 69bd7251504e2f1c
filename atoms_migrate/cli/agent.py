"""``atoms-migrate agent SOURCE``: one agent, read, planned, shown, and (unless --dry-run) applied and read back.

Parses the options, reads and plans the agent, shows the plan, hands it to the post-plan flow
(``apply.flow.post_plan``) and renders its report: the result of the apply, or why nothing was written.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from atoms_migrate.cli.boundary import error_boundary, remember_secrets
from atoms_migrate.cli.clients import atoms_client, elevenlabs_for_apply
from atoms_migrate.cli.context import read_source, run_config, state_lock
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
from atoms_migrate.cli.output import (
    ask,
    err_console,
    out_console,
    print_json,
    print_result,
    save_plan,
    write_reports,
)
from atoms_migrate.cli.root import app
from atoms_migrate.errors import MigrationError
from atoms_migrate.settings import Settings


@app.command()
def agent(
    source: Annotated[
        str, typer.Argument(help="ElevenLabs agent id, or an exported agent config file (JSON or YAML).")
    ],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Show the plan and stop; nothing is written (reads Atoms when SMALLEST_API_KEY is set)."
        ),
    ] = False,
    yes: YesOption = False,
    branch: Annotated[
        str | None,
        typer.Option(
            "--branch", help="Stage: write to this branch (created from the live one) and do not make it live."
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Discard an open draft with someone else's unpublished edits instead of refusing."
        ),
    ] = False,
    direct: DirectOption = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the plan (and the apply result) as JSON on stdout (format_version 1).")
    ] = False,
    report: ReportOption = None,
    state: StateOption = None,
    mappings: MappingsOption = None,
    tools_dir: Annotated[
        Path | None,
        typer.Option("--tools-dir", help="Folder of tool configs for tool_ids, for offline runs.", file_okay=False),
    ] = None,
    set_values: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="NAME=VALUE: fill a placeholder (${NAME}, <NAME>, {{NAME}}, or an ALL-CAPS host like "
            "YOUR_BACKEND_HOST) in tool URLs and headers. Repeatable.",
            metavar="NAME=VALUE",
        ),
    ] = None,
    clone_voices: Annotated[
        bool,
        typer.Option(
            "--clone-voices",
            help="Clone non-premade ElevenLabs voices on Smallest from their samples instead of suggesting a catalog "
            "voice (voice consent is yours).",
        ),
    ] = False,
    secrets: Annotated[
        list[str] | None,
        typer.Option(
            "--secret",
            help="NAME=VALUE: value of a secret a tool header needs (also $ATOMS_MIGRATE_SECRET_<NAME>); never shown "
            "or stored. Repeatable.",
            metavar="NAME=VALUE",
        ),
    ] = None,
    elevenlabs_base_url: ElevenLabsUrlOption = None,
    smallest_base_url: SmallestUrlOption = None,
    versioning: Annotated[
        Versioning,
        typer.Option(
            "--versioning",
            help="Atoms versioning model: detect it (auto), or force v2 branches / v1 drafts.",
            case_sensitive=False,
        ),
    ] = Versioning.auto,
    publish_timeout: Annotated[
        float, typer.Option("--publish-timeout", help="Seconds to wait for the publish and its security scan.", min=1)
    ] = 120.0,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Save the plan (with hashes of the source and of the target's live revision) for "
            "`atoms-migrate apply`.",
            dir_okay=False,
        ),
    ] = None,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode", help="With --dry-run: exit 2 when the plan has changes (0 when it has none)."
        ),
    ] = False,
    fail_on: Annotated[
        FailOn | None,
        typer.Option(
            "--fail-on",
            help="Exit 3, before writing anything, when the plan has findings at this level or worse: "
            "error < unmapped < lossy.",
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
    """Migrate one ElevenLabs agent to Smallest Atoms: plan, show the diff, apply, verify by reading back."""
    err = err_console(no_color, soft_wrap=False)
    with error_boundary(debug), nullcontext() if dry_run else state_lock(state, wait_lock):
        from atoms_migrate.apply import flow
        from atoms_migrate.apply.run import Run, describe
        from atoms_migrate.mapping.tables import load_tables
        from atoms_migrate.report.human import render_plan
        from atoms_migrate.report.progress import WaitProgress
        from atoms_migrate.source.select import SourceSpec

        def say(text: str) -> None:
            err.print(text, markup=False)

        settings = Settings.from_env()
        tables = load_tables(mappings)
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
        source_agent = read_source(source, tools_dir, elevenlabs_base_url, err, tables.voices, state, settings=settings)
        atoms = atoms_client(smallest_base_url, required=not dry_run, settings=settings)
        if atoms is not None:
            say("Reading the target from Smallest Atoms…")
        with elevenlabs_for_apply(elevenlabs_base_url, settings=settings) as elevenlabs:
            run = Run(config, atoms, elevenlabs, progress=lambda key, text: say(f"  {text}"), tracker=WaitProgress(err))
            run.reveal = lambda text: err.print(text, markup=False, highlight=False)
            planned = run.plan(source_agent)
            remember_secrets(planned.plan.secret_values.values())  # literal credentials of the source
            item = flow.Item(SourceSpec(source, "id" if source_agent.agent_id == source else "file"))
            item.source, item.planned = source_agent, planned
            plan = flow.combined_plan([item])
            out = out_console(no_color)
            if not json_output:
                render_plan(plan, out, verbose=verbose)
            write_reports(plan, report, settings=settings)
            if out_file:
                save_plan(out_file, [({"kind": item.spec.kind, "ref": source}, planned)], config)
            options = flow.FlowOptions(
                dry_run=dry_run,
                fail_on=fail_on,
                allow_errors=allow_errors,
                detailed_exitcode=detailed_exitcode,
                single=True,
            )
            run_report = flow.post_plan([item], plan, run, options, confirm=lambda q: ask(q, yes), say=say)
        if run_report.cancelled and run_report.error is not None:
            raise run_report.error
        if not run_report.applied:
            if json_output:
                print_json(plan.to_dict())
            if run_report.error is not None:
                raise run_report.error
            if run_report.gate and fail_on is not None:
                written = "" if dry_run else " Nothing was written."
                say(f"--fail-on {fail_on.value}: the plan has findings at that level (see Needs review).{written}")
            raise typer.Exit(run_report.exit_code())
        outcome = item.outcome
        assert outcome is not None  # the flow applied the one item
        for failure in outcome.resources.failures:
            say(f"  warning: {failure}")
        if outcome.result is None:  # the apply failed before it had a result: the error says why
            raise outcome.error or MigrationError("the apply failed")
        if json_output:
            print_json({**plan.to_dict(), "apply": [describe(outcome)]})
        else:
            print_result(outcome.result, source, out)
        if outcome.error is not None and not outcome.result.differences:
            raise outcome.error
        raise typer.Exit(run_report.exit_code())
