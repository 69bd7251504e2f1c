"""``atoms-migrate status``: where each agent of a gradual migration stands, reading both sides (GET only).

Part of the CLI layer. For one agent (id or file), a directory, or the whole ElevenLabs
account, it reads the source and the Atoms agent the state file names, plans (pure) and
classifies three ways (``sync.py``), and prints one line per agent: in sync, source changed,
drifted, conflict, not migrated, or target missing (archived or deleted on Atoms). Nothing is
written: not to Atoms, not to the state file. ``--detailed-exitcode`` exits 2 when any agent
is not in sync, so a scheduled CI job can open an issue.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from atoms_migrate.cli.boundary import error_boundary
from atoms_migrate.cli.clients import atoms_client as _atoms_client
from atoms_migrate.cli.clients import elevenlabs_for_apply as _elevenlabs_for_apply
from atoms_migrate.cli.context import AGENT_ID as _AGENT_ID
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
from atoms_migrate.errors import EXIT_CHANGES, EXIT_ERROR, ConfigError, MigrationError, NotAnAgentConfig

LABELS = {
    "in-sync": "in sync",
    "update": "source changed",
    "drifted": "drifted",
    "conflict": "conflict",
    "not-migrated": "not migrated",
    "target-missing": "target missing",
    "error": "error",
}


def _specs(sources: list[str], elevenlabs: Any) -> tuple[list[Any], list[str]]:
    from atoms_migrate.source import select as batch
    from atoms_migrate.source.select import SourceSpec

    if not sources:
        if elevenlabs is None:
            raise ConfigError(
                "ELEVENLABS_API_KEY is not set, so the account's agents cannot be listed",
                "Export ELEVENLABS_API_KEY, or pass agent files, directories or ids.",
            )
        return batch.enumerate_account(elevenlabs), []
    specs, notes = [], []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            found, more = batch.enumerate_directory(path)
            specs += found
            notes += more
        elif path.exists() or path.suffix.lower() in (".json", ".yaml", ".yml") or "/" in source:
            specs.append(SourceSpec(source, "file"))
        elif _AGENT_ID.match(source):
            specs.append(SourceSpec(source, "id"))
        else:
            raise ConfigError(f"{source}: no such file or directory, and not an ElevenLabs agent id")
    return specs, notes


def agent_status(run: Any, spec: Any) -> dict[str, Any]:
    """One agent's line: read and plan (reads only), then the state it is in."""
    source = run.read(spec)
    planned = run.plan(source)
    plan = planned.plan
    if planned.target is None:
        state = "target-missing" if planned.prior is not None else "not-migrated"
    else:
        state = plan.sync or ("in-sync" if not plan.has_changes() else "update")
    changed = [c.path for c in (plan.pending_changes or plan.changes)] if state in ("update", "conflict") else []
    return {
        "key": source.key,
        "name": plan.source.name,
        "source": spec.ref,
        "status": state,
        "atoms_agent_id": planned.target.agent_id
        if planned.target
        else (planned.prior.smallest_agent_id if planned.prior else None),
        "source_changes": changed,
        "target_edits": [e.to_dict() for e in plan.target_edits],
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
        from atoms_migrate.apply.run import Run
        from atoms_migrate.mapping.tables import load_tables

        config = _run_config(load_tables(mappings), state, None, None, False, None, False, "auto", 120.0)
        atoms = _atoms_client(smallest_base_url, required=True)
        with _elevenlabs_for_apply(elevenlabs_base_url) as elevenlabs:
            specs, notes = _specs(list(sources or []), elevenlabs)
            for note in notes:
                err.print(f"note: {note}", markup=False)
            run = Run(config, atoms, elevenlabs, batch=len(specs) > 1)
            rows = []
            for spec in specs:
                try:
                    rows.append(agent_status(run, spec))
                except NotAnAgentConfig:
                    continue
                except MigrationError as exc:
                    rows.append(
                        {
                            "key": spec.key,
                            "name": spec.name or spec.ref,
                            "source": spec.ref,
                            "status": "error",
                            "atoms_agent_id": None,
                            "source_changes": [],
                            "target_edits": [],
                            "error": exc.message,
                        }
                    )
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        if json_output:
            sys.stdout.write(
                json.dumps({"format_version": "1", "agents": rows, "summary": counts}, indent=2, ensure_ascii=False)
                + "\n"
            )
        else:
            out = Console(highlight=False, no_color=no_color or None, soft_wrap=True)
            for row in rows:
                detail = row.get("error") or ""
                if row["target_edits"]:
                    detail = f"edited on Atoms: {', '.join(e['path'] for e in row['target_edits'])}"
                if row["source_changes"]:
                    detail += ("; " if detail else "") + f"source changed: {', '.join(row['source_changes'])}"
                target = f" -> {row['atoms_agent_id']}" if row["atoms_agent_id"] else ""
                out.print(
                    f"{LABELS[row['status']]:<15} {row['name']} ({row['key']}){target}"
                    + (f"  {detail}" if detail else ""),
                    markup=False,
                )
            out.print(
                "Status: " + (", ".join(f"{n} {LABELS[s]}" for s, n in sorted(counts.items())) or "no agents"),
                markup=False,
            )
        if counts.get("error"):
            raise typer.Exit(EXIT_ERROR)
        if detailed_exitcode and any(s != "in-sync" for s in counts):
            raise typer.Exit(EXIT_CHANGES)
