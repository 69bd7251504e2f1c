"""``atoms-migrate status``: where each agent of a gradual migration stands, reading both sides (GET only).

Part of the CLI layer: the reading and classifying is ``apply/status.py``. For one agent (id or file), a
directory, or the whole ElevenLabs account, it reads the source and the Atoms agent the state file names,
plans (pure) and classifies three ways (``sync.py``), and prints one line per agent: in sync, source changed,
drifted, conflict, not migrated, or target missing (archived or deleted on Atoms). Nothing is
written: not to Atoms, not to the state file. ``--detailed-exitcode`` exits 2 when any agent
is not in sync, so a scheduled CI job can open an issue.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from atoms_migrate.cli.boundary import error_boundary
from atoms_migrate.cli.clients import atoms_client as _atoms_client
from atoms_migrate.cli.clients import elevenlabs_for_apply as _elevenlabs_for_apply
from atoms_migrate.cli.context import run_config as _run_config
from atoms_migrate.cli.options import (
    DebugOption,
    ElevenLabsUrlOption,
    MappingsOption,
    NoColorOption,
    SmallestUrlOption,
    StateOption,
)
from atoms_migrate.cli.root import app
from atoms_migrate.errors import EXIT_CHANGES, EXIT_ERROR
from atoms_migrate.settings import Settings

if TYPE_CHECKING:  # the core is imported when the command runs (start-up time)
    from atoms_migrate.apply.status import StatusReport

LABELS = {
    "in-sync": "in sync",
    "update": "source changed",
    "drifted": "drifted",
    "conflict": "conflict",
    "new": "found by marker",  # an Atoms agent carries this source's marker but the state file has no entry
    "not-migrated": "not migrated",
    "target-missing": "target missing",
    "error": "error",
}


@app.command()
def status(
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            help="Agent ids, agent files or directories; without any, every agent of the ElevenLabs account.",
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the statuses as JSON on stdout (format_version 1).")
    ] = False,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when any agent is not in sync.")
    ] = False,
    state: StateOption = None,
    mappings: MappingsOption = None,
    elevenlabs_base_url: ElevenLabsUrlOption = None,
    smallest_base_url: SmallestUrlOption = None,
    no_color: NoColorOption = False,
    debug: DebugOption = False,
) -> None:
    """Show where each migrated agent stands: in sync, source changed, drifted, conflict, not migrated, target
    missing."""
    err = Console(stderr=True, highlight=False, no_color=no_color or None, soft_wrap=True)
    with error_boundary(debug):
        from atoms_migrate.apply import status as core
        from atoms_migrate.apply.run import Run
        from atoms_migrate.mapping.tables import load_tables

        settings = Settings.from_env()
        config = _run_config(
            load_tables(mappings), state, None, None, False, None, False, "auto", 120.0, settings=settings
        )
        atoms = _atoms_client(smallest_base_url, required=True, settings=settings)
        with _elevenlabs_for_apply(elevenlabs_base_url, settings=settings) as elevenlabs:
            specs, notes = core.status_specs(list(sources or []), elevenlabs)
            for note in notes:
                err.print(f"note: {note}", markup=False)
            report = core.statuses(Run(config, atoms, elevenlabs, batch=len(specs) > 1), specs)
        counts = report.counts
        if json_output:
            sys.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
        else:
            _print_rows(report, Console(highlight=False, no_color=no_color or None, soft_wrap=True))
        if report.errors:
            raise typer.Exit(EXIT_ERROR)
        if detailed_exitcode and any(s != "in-sync" for s in counts):
            raise typer.Exit(EXIT_CHANGES)


def _print_rows(report: StatusReport, out: Console) -> None:
    for row in report.rows:
        detail = row.error or ""
        if row.target_edits:
            detail = f"edited on Atoms: {', '.join(e['path'] for e in row.target_edits)}"
        if row.source_changes:
            detail += ("; " if detail else "") + f"source changed: {', '.join(row.source_changes)}"
        target = f" -> {row.atoms_agent_id}" if row.atoms_agent_id else ""
        out.print(
            f"{LABELS[row.status]:<15} {row.name} ({row.key}){target}" + (f"  {detail}" if detail else ""),
            markup=False,
        )
    out.print(
        "Status: " + (", ".join(f"{n} {LABELS[s]}" for s, n in sorted(report.counts.items())) or "no agents"),
        markup=False,
    )
