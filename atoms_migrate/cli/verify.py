"""The ``verify`` command: talk to the migrated agent (and the original with ``--both``). Part of the CLI layer.

Finds the Atoms agent (``--target``, else the state file's entry for SOURCE), reads its live
config for the first message, speaking order and end-of-call tool, runs a script (or the
smoke script) over the realtime WebSocket in chat mode, and shows the transcripts side by
side with per-turn expectation results. Exit 1 when any expectation failed. The realtime
hosts come from SMALLEST_BASE_URL / ELEVENLABS_BASE_URL (ws:// for http://), or
SMALLEST_REALTIME_URL / ELEVENLABS_REALTIME_URL when set (the sandbox prints them).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from atoms_migrate.cli.boundary import error_boundary
from atoms_migrate.cli.clients import atoms_client as _atoms_client
from atoms_migrate.cli.clients import elevenlabs_client as _elevenlabs_client
from atoms_migrate.cli.options import DebugOption, NoColorOption, StateOption
from atoms_migrate.cli.output import write_file as _write_file
from atoms_migrate.cli.root import app
from atoms_migrate.errors import EXIT_ERROR
from atoms_migrate.settings import SMALLEST_API_KEY, Settings

if TYPE_CHECKING:  # imported where used: `verify` is the only command that needs them (start-up time)
    from atoms_migrate.verify.run import AtomsTarget, ElevenLabsReader, ElevenLabsTarget, VerifyResult


def _source_identity(source: str, state: Path | None = None) -> tuple[list[str], str | None]:
    """(state keys, ElevenLabs agent id) of SOURCE: a file's keys (identity.py) and agent_id, or an agent id."""
    from atoms_migrate.cli.context import source_keys
    from atoms_migrate.source.shapes import normalise, read_config_file

    path = Path(source)
    if path.is_file():
        agent = normalise(read_config_file(path), str(path), path=str(path))
        return source_keys(source, state), agent.agent_id
    return [source], source


def _render(runs: list[dict[str, Any]], out: Console) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="atoms-migrate verify", highlight=False, show_lines=True)
    table.add_column("#")
    table.add_column("User")
    for run in runs:
        table.add_column(run["platform"], overflow="fold")
    for i in range(max(len(r["turns"]) for r in runs)):
        cells = []
        user = None
        for run in runs:
            turn = run["turns"][i] if i < len(run["turns"]) else None
            if turn is None:
                cells.append(Text("-"))
                continue
            user = turn["user"] if turn["user"] is not None else "(opening)"
            mark = "PASS" if turn["passed"] else "FAIL: " + "; ".join(turn["failures"])
            ended = " [ended the call]" if turn["ended"] else ""
            cells.append(Text(f"{turn['reply'] or '(no reply)'}{ended}\n{mark}"))  # Text: replies are not markup
        table.add_row(str(i), Text(user or ""), *cells)
    out.print(table)


# The option types of the shared ones (cli/__init__.py), with the environment variable each falls back to
# declared through `envvar=`, so `verify --help` names it. The realtime URLs have no option of their own:
# the help of the API host options names the variable that overrides each.
VerifySmallestUrlOption = Annotated[
    str | None,
    typer.Option(
        "--smallest-base-url",
        envvar="SMALLEST_BASE_URL",
        show_envvar=True,
        help=(
            "Smallest API host (default: https://api.smallest.ai; a value ending in /atoms/v1 is accepted). "
            "The realtime WebSocket is its ws(s):// twin unless $SMALLEST_REALTIME_URL is set."
        ),
    ),
]
VerifyElevenLabsUrlOption = Annotated[
    str | None,
    typer.Option(
        "--elevenlabs-base-url",
        envvar="ELEVENLABS_BASE_URL",
        show_envvar=True,
        help=(
            "ElevenLabs API host (default: https://api.elevenlabs.io). "
            "The realtime WebSocket is its ws(s):// twin unless $ELEVENLABS_REALTIME_URL is set."
        ),
    ),
]


def _atoms_target(
    source: str,
    keys: list[str],
    target: str | None,
    state: Path | None,
    smallest_base_url: str | None,
    settings: Settings,
) -> AtomsTarget:
    """The Atoms agent to talk to (``--target``, else the state file's entry for SOURCE), with its live config."""
    from atoms_migrate.apply.migrated import migrated_agent
    from atoms_migrate.apply.state import DEFAULT_STATE_PATH
    from atoms_migrate.platforms.smallest import atoms_base_urls
    from atoms_migrate.verify.run import AtomsTarget

    found = migrated_agent(
        source,
        state or DEFAULT_STATE_PATH,
        keys,
        target,
        lambda: _atoms_client(smallest_base_url, required=True, settings=settings),
    )
    host, _, _ = atoms_base_urls(smallest_base_url)
    api_key = settings.api_key(SMALLEST_API_KEY)  # scrubbed from output by the error boundary
    return AtomsTarget(found.agent_id, found.live, api_key, host, settings.smallest_realtime_url)


@contextmanager
def _elevenlabs_reader(base_url: str | None, settings: Settings) -> Iterator[ElevenLabsReader]:
    """The ElevenLabs client, its connection closed when the reads for ``--both`` are done."""
    client = _elevenlabs_client(base_url, settings=settings)
    with client.http:
        yield client


def _elevenlabs_target(source: str, agent_id: str | None, base_url: str | None, settings: Settings) -> ElevenLabsTarget:
    """The original agent for ``--both``; its client is made (and its key checked) only after the Atoms run."""
    from atoms_migrate.platforms.elevenlabs import DEFAULT_BASE_URL
    from atoms_migrate.verify.run import ElevenLabsTarget

    return ElevenLabsTarget(
        source,
        agent_id,
        lambda: _elevenlabs_reader(base_url, settings),
        base_url or DEFAULT_BASE_URL,
        settings.elevenlabs_realtime_url,
    )


def _print_json(result: VerifyResult) -> None:
    sys.stdout.write(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")


def _print_table(result: VerifyResult, no_color: bool) -> None:
    out = Console(highlight=False, no_color=no_color or None)
    if not out.is_terminal:
        out = Console(highlight=False, no_color=no_color or None, width=160)
    _render([run.to_json() for run in result.runs], out)
    out.print(
        f"{'PASSED' if result.passed else 'FAILED'}: {result.failed} of {result.turns} turn(s) failed.",
        markup=False,
    )


@app.command()
def verify(
    source: Annotated[
        str,
        typer.Argument(
            help="The migrated ElevenLabs agent: its id or exported file (finds the Atoms agent in the state file)."
        ),
    ],
    target: Annotated[
        str | None, typer.Option("--target", help="The Atoms agent id to talk to (instead of the state file's).")
    ] = None,
    script: Annotated[
        Path | None,
        typer.Option(
            "--script",
            help=(
                "Conversation script (YAML/JSON: turns with expectations); "
                "default: a smoke script built from the agent."
            ),
            dir_okay=False,
        ),
    ] = None,
    both: Annotated[
        bool,
        typer.Option("--both", help="Run the same script against the ElevenLabs agent too and compare side by side."),
    ] = False,
    variables: Annotated[
        list[str] | None,
        typer.Option(
            "--var", help="NAME=VALUE dynamic variable passed to both agents (repeatable).", metavar="NAME=VALUE"
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the transcripts and results as JSON on stdout (format_version 1).")
    ] = False,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Write JUnit XML: one testcase per turn.", dir_okay=False)
    ] = None,
    turn_timeout: Annotated[
        float, typer.Option("--turn-timeout", help="Seconds to wait for each reply.", min=1)
    ] = 20.0,
    session_timeout: Annotated[
        float, typer.Option("--session-timeout", help="Seconds a whole conversation may take.", min=1)
    ] = 120.0,
    state: StateOption = None,
    elevenlabs_base_url: VerifyElevenLabsUrlOption = None,
    smallest_base_url: VerifySmallestUrlOption = None,
    no_color: NoColorOption = False,
    debug: DebugOption = False,
) -> None:
    """Talk to the migrated agent over the Atoms realtime WebSocket (and to the original with --both); exit 1 on a failed expectation.

    The API keys come from the environment only: SMALLEST_API_KEY (and ELEVENLABS_API_KEY with --both).
    """  # noqa: E501 (the first line is the one-line summary --help shows in the command list)
    err = Console(stderr=True, highlight=False, no_color=no_color or None, soft_wrap=True)
    with error_boundary(debug):
        from atoms_migrate.mapping.refs import parse_pairs
        from atoms_migrate.verify.run import Limits, run_verify
        from atoms_migrate.verify.script import load_script

        settings = Settings.from_env()
        keys, elevenlabs_id = _source_identity(source, state)
        atoms = _atoms_target(source, keys, target, state, smallest_base_url, settings)
        given = parse_pairs(variables or [], "--var")
        loaded = load_script(script) if script else None
        result = run_verify(
            atoms,
            loaded,
            given,
            elevenlabs=_elevenlabs_target(source, elevenlabs_id, elevenlabs_base_url, settings) if both else None,
            limits=Limits(turn_timeout, session_timeout),
            progress=lambda line: err.print(line, markup=False),
        )
        if junit:
            from atoms_migrate.report.ci import verify_junit

            _write_file(junit, verify_junit(result.runs, result.script))
        if json_output:
            _print_json(result)
        else:
            _print_table(result, no_color)
        if not result.passed:
            raise typer.Exit(EXIT_ERROR)
