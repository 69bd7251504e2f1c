"""``atoms-migrate mappings check``: validate a set of mapping tables, naming the file and line of every problem."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from atoms_migrate.cli.boundary import error_boundary
from atoms_migrate.cli.options import DebugOption
from atoms_migrate.cli.output import err_console
from atoms_migrate.cli.root import mappings_app
from atoms_migrate.errors import EXIT_ERROR


@mappings_app.command("check")
def mappings_check(
    directory: Annotated[
        Path | None, typer.Argument(help="Directory of tables to check (default: the built-in tables).")
    ] = None,
    debug: DebugOption = False,
) -> None:
    """Validate a set of mapping tables and name the file and line of every problem."""
    with error_boundary(debug):
        from atoms_migrate.mapping.tables import check_tables

        tables, problems = check_tables(directory)
        if tables is None:
            err = err_console()
            for problem in problems:
                err.print(f"error: {problem}", markup=False)
            err.print(f"{len(problems)} problem(s) found.", markup=False)
            raise typer.Exit(EXIT_ERROR)
        typer.echo(
            f"OK: {len(tables.concepts.concepts)} concepts, {len(tables.concepts.rules)} field rules, "
            f"{len(tables.voices.voices)} voices, {len(tables.llms.rules)} LLM rules, "
            f"{len(tables.languages.codes)} language codes, {len(tables.scan.rules)} scan rules"
        )
        for name, where in tables.sources.items():
            typer.echo(f"  {name}: {where}")
