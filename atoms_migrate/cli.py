"""The command line: parse options, build clients, call the core, render, pick an exit code.

This is the only module that reads environment variables, touches the terminal or decides
exit codes. ``error_boundary`` is the single place that turns our errors into a one-line
message with a hint (tracebacks only with ``--debug``) and scrubs API keys from anything
printed. Exit codes: 0 success, 1 error, 2 changes planned (with ``--detailed-exitcode``),
3 a ``--fail-on`` gate tripped.
"""

from __future__ import annotations

import json
import os
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from atoms_migrate import __version__
from atoms_migrate.errors import ConfigError, MigrationError, SourceFileError

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_GATE = 0, 1, 2, 3
SECRET_ENV_VARS = ("ELEVENLABS_API_KEY", "SMALLEST_API_KEY")
_AGENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{2,127}$")

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


class FailOn(str, Enum):
    lossy = "lossy"
    unmapped = "unmapped"
    error = "error"


def _scrub(text: str) -> str:
    for var in SECRET_ENV_VARS:
        value = os.environ.get(var)
        if value and len(value) >= 4:
            text = text.replace(value, "<redacted>")
    return text


@contextmanager
def error_boundary(debug: bool) -> Iterator[None]:
    """The one place errors become messages and exit codes."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        yield
    except typer.Exit:
        raise
    except MigrationError as exc:
        if debug:
            err.print(_scrub(traceback.format_exc()), markup=False)
        err.print(_scrub(f"error: {exc.message}"), markup=False)
        if exc.hint:
            err.print(_scrub(f"  hint: {exc.hint}"), markup=False)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        raise typer.Exit(130) from None
    except Exception as exc:  # a bug: say so plainly, keep the traceback behind --debug
        if debug:
            err.print(_scrub(traceback.format_exc()), markup=False)
        err.print(_scrub(f"error: unexpected {type(exc).__name__}: {exc}"), markup=False)
        err.print("  hint: this is a bug in atoms-migrate; re-run with --debug and report the traceback.", markup=False)
        raise typer.Exit(EXIT_ERROR) from None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"atoms-migrate {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    """Migrate ElevenLabs Conversational AI agents to Smallest AI Atoms."""


def _elevenlabs_client(base_url: str | None):  # type: ignore[no-untyped-def]
    import httpx

    from atoms_migrate.elevenlabs import DEFAULT_BASE_URL, ElevenLabsClient

    key = os.environ.get("ELEVENLABS_API_KEY", "").strip()
    if not key:
        raise ConfigError(
            "ELEVENLABS_API_KEY is not set, so the agent cannot be read from ElevenLabs",
            "Export ELEVENLABS_API_KEY, or pass an exported agent config file instead of an id.",
        )
    base = (base_url or os.environ.get("ELEVENLABS_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ConfigError(f"ELEVENLABS_BASE_URL {base!r} is not an http(s) URL", "Use e.g. https://api.eu.residency.elevenlabs.io")
    http = httpx.Client(
        base_url=base,
        headers={"xi-api-key": key, "User-Agent": f"atoms-migrate/{__version__}", "Accept": "application/json"},
        timeout=httpx.Timeout(30.0, connect=10.0),
        follow_redirects=True,
    )
    return ElevenLabsClient(http)


def _read_source(source: str, tools_dir: Path | None, elevenlabs_base_url: str | None, err: Console):  # type: ignore[no-untyped-def]
    """Read SOURCE (a file, or an agent id fetched from ElevenLabs) into a SourceAgent."""
    from dataclasses import replace

    from atoms_migrate.errors import ApiError
    from atoms_migrate.source import load_tools_dir, normalise, read_config_file

    path = Path(source)
    offline_tools = load_tools_dir(tools_dir) if tools_dir else {}
    looks_like_file = path.suffix.lower() in (".json", ".yaml", ".yml") or os.sep in source or "/" in source
    if path.exists() or looks_like_file:
        agent = normalise(read_config_file(path), str(path), path=str(path))
        return replace(agent, tools=offline_tools)
    if not _AGENT_ID.match(source):
        raise SourceFileError(f"{source}: no such file, and not an ElevenLabs agent id",
                              "Pass an exported agent config (JSON/YAML) or an agent id such as agent_7101k5zv….")
    client = _elevenlabs_client(elevenlabs_base_url)
    with client.http:
        err.print(f"Reading agent {source} from ElevenLabs…", markup=False, highlight=False)
        agent = normalise(client.get_agent(source), source)
        tools = dict(offline_tools)
        notes = list(agent.notes)
        for tool_id in dict.fromkeys(agent.tool_ids()):
            if tool_id in tools:
                continue
            try:
                tools[tool_id] = client.get_tool(tool_id)
            except ApiError as exc:
                if exc.status in (401, 403) or exc.status is None:
                    raise
                notes.append(f"tool {tool_id} could not be read: {exc.message}")
    return replace(agent, tools=tools, notes=tuple(notes))


def _gate_tripped(plan, fail_on: FailOn | None) -> bool:  # type: ignore[no-untyped-def]
    if fail_on is None:
        return False
    findings = [f for a in plan.agents for f in a.findings]
    if any(f.severity == "error" for f in findings):
        return True
    if fail_on is FailOn.error:
        return False
    if any(f.status == "unmapped" and f.severity != "info" for f in findings):
        return True
    if fail_on is FailOn.unmapped:
        return False
    lossy_changes = any(c.status == "lossy" for a in plan.agents for c in a.changes)
    return lossy_changes or any(f.status == "lossy" and f.severity != "info" for f in findings)


def _write_reports(plan, report: Path | None) -> None:  # type: ignore[no-untyped-def]
    from atoms_migrate.render.markdown import plan_markdown

    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if not report and not summary_file:
        return
    markdown = plan_markdown(plan)
    if report:
        try:
            report.write_text(markdown, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write report {report}: {exc.strerror}") from exc
    if summary_file:
        try:
            with open(summary_file, "a", encoding="utf-8") as fh:
                fh.write(markdown)
        except OSError as exc:
            raise ConfigError(f"cannot append to GITHUB_STEP_SUMMARY ({summary_file}): {exc.strerror}") from exc


MappingsOption = Annotated[
    Path | None,
    typer.Option("--mappings", help="Directory of mapping tables overriding the built-in ones, file by file.",
                 file_okay=False, exists=False),
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")]


@app.command()
def agent(
    source: Annotated[str, typer.Argument(help="ElevenLabs agent id, or an exported agent config file (JSON or YAML).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan and stop; nothing is written.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the plan as JSON on stdout (format_version 1).")] = False,
    report: Annotated[Path | None, typer.Option("--report", help="Write a markdown report (also appended to $GITHUB_STEP_SUMMARY when set).", dir_okay=False)] = None,
    mappings: MappingsOption = None,
    tools_dir: Annotated[Path | None, typer.Option("--tools-dir", help="Folder of tool configs for tool_ids, for offline runs.", file_okay=False)] = None,
    elevenlabs_base_url: Annotated[str | None, typer.Option("--elevenlabs-base-url", help="ElevenLabs API host (default: $ELEVENLABS_BASE_URL or https://api.elevenlabs.io).")] = None,
    detailed_exitcode: Annotated[bool, typer.Option("--detailed-exitcode", help="Exit 2 when the plan has changes (0 when it has none).")] = False,
    fail_on: Annotated[FailOn | None, typer.Option("--fail-on", help="Exit 3 when the plan has findings at this level or worse: error < unmapped < lossy.", case_sensitive=False)] = None,
    no_color: Annotated[bool, typer.Option("--no-color", help="Plain output without colour.")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="List ignored fields and the note behind every change.")] = False,
    debug: DebugOption = False,
) -> None:
    """Plan the migration of one ElevenLabs agent to Smallest Atoms and show the field-level diff."""
    err = Console(stderr=True, highlight=False, no_color=no_color or None)
    with error_boundary(debug):
        from atoms_migrate.plan import plan_agent, plan_all
        from atoms_migrate.tables import load_tables

        tables = load_tables(mappings)
        source_agent = _read_source(source, tools_dir, elevenlabs_base_url, err)
        plan = plan_all([plan_agent(source_agent, tables)])
        if json_output:
            sys.stdout.write(json.dumps(plan.to_dict(), indent=2, ensure_ascii=False) + "\n")
        else:
            from atoms_migrate.render.human import render_plan

            out = Console(highlight=False, no_color=no_color or None, soft_wrap=True)
            render_plan(plan, out, verbose=verbose)
        _write_reports(plan, report)
        if not dry_run:
            raise MigrationError(
                "applying the plan to Smallest Atoms is not available in this version; nothing was written",
                "Re-run with --dry-run to review the plan (apply is coming in the next release).",
            )
        if _gate_tripped(plan, fail_on):
            err.print(f"--fail-on {fail_on.value}: the plan has findings at that level (see Needs review).", markup=False)  # type: ignore[union-attr]
            raise typer.Exit(EXIT_GATE)
        if detailed_exitcode and plan.has_changes():
            raise typer.Exit(EXIT_CHANGES)


@mappings_app.command("check")
def mappings_check(
    directory: Annotated[Path | None, typer.Argument(help="Directory of tables to check (default: the built-in tables).")] = None,
    debug: DebugOption = False,
) -> None:
    """Validate a set of mapping tables and name the file and line of every problem."""
    with error_boundary(debug):
        from atoms_migrate.tables import check_tables

        tables, problems = check_tables(directory)
        if tables is None:
            err = Console(stderr=True, highlight=False, soft_wrap=True)
            for problem in problems:
                err.print(f"error: {problem}", markup=False)
            err.print(f"{len(problems)} problem(s) found.", markup=False)
            raise typer.Exit(EXIT_ERROR)
        typer.echo(
            f"OK: {len(tables.concepts.concepts)} concepts, {len(tables.concepts.rules)} field rules, "
            f"{len(tables.voices.voices)} voices, {len(tables.llms.rules)} LLM rules, "
            f"{len(tables.languages.codes)} language codes"
        )
        for name, where in tables.sources.items():
            typer.echo(f"  {name}: {where}")


def main() -> None:
    app()
