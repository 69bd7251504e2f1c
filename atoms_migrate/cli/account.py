"""Commands about the accounts rather than one migration: ``doctor`` (keys, region, permissions, write forms) and
``voices`` (which Smallest voice each ElevenLabs voice becomes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from atoms_migrate.cli.boundary import error_boundary
from atoms_migrate.cli.clients import atoms_client, elevenlabs_client
from atoms_migrate.cli.context import read_source, state_path
from atoms_migrate.cli.options import (
    DebugOption,
    ElevenLabsUrlOption,
    MappingsOption,
    NoColorOption,
    SmallestUrlOption,
    StateOption,
    YesOption,
)
from atoms_migrate.cli.output import ask, err_console, out_console, print_json
from atoms_migrate.cli.root import app
from atoms_migrate.errors import EXIT_ERROR
from atoms_migrate.settings import ELEVENLABS_API_KEY, Settings

if TYPE_CHECKING:
    from atoms_migrate.apply.doctor import Report


@app.command()
def doctor(
    probe: Annotated[
        bool,
        typer.Option(
            "--probe",
            help="Also create one throw-away agent (atoms-migrate-probe-<time>), write each uncertain field in each "
            "form, read back, record what works in the state file, and archive the agent (also when interrupted).",
        ),
    ] = False,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json", help="Print the checks (and the capability table) as JSON on stdout (format_version 1)."
        ),
    ] = False,
    yes: YesOption = False,
    state: StateOption = None,
    smallest_base_url: SmallestUrlOption = None,
    elevenlabs_base_url: ElevenLabsUrlOption = None,
    no_color: NoColorOption = False,
    debug: DebugOption = False,
) -> None:
    """Check keys, region, versioning model, voice catalog and permissions; exit 1 when a check fails."""
    err = err_console(no_color)
    with error_boundary(debug):
        from atoms_migrate.apply import doctor as doc
        from atoms_migrate.platforms.smallest import atoms_base_urls

        settings = Settings.from_env()
        atoms = atoms_client(smallest_base_url, required=False, settings=settings)
        host = atoms_base_urls(smallest_base_url or settings.smallest_base_url)[0]
        elevenlabs = (
            elevenlabs_client(elevenlabs_base_url, settings=settings) if settings.has_key(ELEVENLABS_API_KEY) else None
        )
        report = doc.run_doctor(
            atoms,
            elevenlabs,
            host,
            state_path(state),
            doc.DoctorOptions(probe=probe),
            confirm=lambda question: ask(question, yes),
            progress=lambda text: err.print(f"  {text}", markup=False),
        )
        if json_output:
            print_json(report.to_dict())
        else:
            _print_doctor(report, out_console(no_color))
        if report.failed:
            raise typer.Exit(EXIT_ERROR)


def _print_doctor(report: Report, out: Console) -> None:
    from rich.table import Table

    checks = Table(title="atoms-migrate doctor", show_lines=False)
    for column in ("Check", "Status", "Detail", "What to do"):
        checks.add_column(column)
    for c in report.checks:
        checks.add_row(c.name, c.status.upper() if c.status == "fail" else c.status, c.detail, c.hint)
    out.print(checks)
    if report.capabilities:
        table = Table(title=f"Write forms (probe agent {report.probe_agent}, archived)")
        for column in ("Field", "Form", "Kept?", "Note"):
            table.add_column(column)
        for capability in report.capabilities:
            kept = {True: "yes", False: "no", None: "not tried"}[capability.kept]
            table.add_row(capability.field, capability.form, kept, capability.note)
        out.print(table)
        if report.forms:
            out.print(
                "Recorded in the state file: " + ", ".join(f"{k} via {v}" for k, v in report.forms.items()),
                markup=False,
            )


@app.command()
def voices(
    source: Annotated[
        str | None, typer.Argument(help="ElevenLabs agent id or exported config; without it, the whole voice table.")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the voice mapping as JSON (format_version 1).")
    ] = False,
    mappings: MappingsOption = None,
    elevenlabs_base_url: ElevenLabsUrlOption = None,
    smallest_base_url: SmallestUrlOption = None,
    debug: DebugOption = False,
) -> None:
    """Show which Smallest voice each ElevenLabs voice becomes, with confidence and alternatives.

    With ELEVENLABS_API_KEY, voices outside the premade table are matched by their labels;
    with SMALLEST_API_KEY, every voice is checked against the account's Lightning v3.1 catalog.
    """
    err = err_console()
    with error_boundary(debug):
        from atoms_migrate.apply.run import read_catalog
        from atoms_migrate.mapping.tables import load_tables
        from atoms_migrate.mapping.voices import pick_to_dict, pick_voice
        from atoms_migrate.source.shapes import voice_roles

        tables = load_tables(mappings)
        settings = Settings.from_env()
        catalog, catalog_note = read_catalog(atoms_client(smallest_base_url, required=False, settings=settings))
        notes: list[str] = [catalog_note] if catalog_note else []
        if source is None:
            rows = [
                pick_to_dict("table", pick_voice(v.elevenlabs_id, tables.voices, None, catalog))
                for v in tables.voices.voices
            ]
        else:
            agent_source = read_source(source, None, elevenlabs_base_url, err, tables.voices, settings=settings)
            notes.extend(agent_source.notes)
            agent_section = (agent_source.config.get("conversation_config") or {}).get("agent") or {}
            language = (
                tables.languages.to_atoms(agent_section.get("language") or "en") or tables.languages.fallback_default
            )
            rows = [
                pick_to_dict(
                    role,
                    pick_voice(voice_id, tables.voices, agent_source.voices.get(voice_id), catalog, language=language),
                )
                for role, voice_id in voice_roles(agent_source.config)
            ]
        if catalog is None:
            notes.append(
                "SMALLEST_API_KEY is not set or the catalog was unreadable: voices were not checked against the live "
                "catalog."
            )
        if json_output:
            print_json({"format_version": 1, "catalog_checked": catalog is not None, "notes": notes, "voices": rows})
            return
        from rich.table import Table

        table = Table(show_lines=False, highlight=False)
        for column in (
            "Role",
            "ElevenLabs voice",
            "Labels",
            "Smallest voice",
            "Confidence",
            "Basis",
            "In catalog",
            "Alternatives",
        ):
            table.add_column(column)
        for row in rows:
            labels = ", ".join(v for v in row["traits"].values() if v) or "-"
            in_catalog = {True: "yes", False: "NO", None: "not checked"}[row["in_catalog"]]
            alternatives = ", ".join(f"{a['voice_id']} ({a['confidence']})" for a in row["alternatives"]) or "-"
            table.add_row(
                row["role"],
                f"{row['elevenlabs_name']} ({row['elevenlabs_id']})",
                labels,
                row["target"] or "-",
                row["confidence"],
                row["basis"],
                in_catalog,
                alternatives,
            )
        out = Console(highlight=False)
        if not out.is_terminal:
            out = Console(highlight=False, width=200)  # logs and pipes: do not squeeze the table to 80 columns
        out.print(table)
        for note in notes:
            err.print(f"note: {note}", markup=False)
