"""The root typer app every command module registers on (``@app.command()``), and its sub-apps."""

from __future__ import annotations

from typing import Annotated

import typer

from atoms_migrate import __version__

app = typer.Typer(
    name="atoms-migrate",
    help="Migrate ElevenLabs Conversational AI agents to Smallest AI Atoms.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
mappings_app = typer.Typer(help="Inspect and validate the mapping tables.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(mappings_app, name="mappings")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"atoms-migrate {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Migrate ElevenLabs Conversational AI agents to Smallest AI Atoms."""
