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
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from atoms_migrate.cli.boundary import error_boundary
from atoms_migrate.cli.clients import atoms_client as _atoms_client
from atoms_migrate.cli.clients import elevenlabs_client as _elevenlabs_client
from atoms_migrate.cli.options import DebugOption, ElevenLabsUrlOption, NoColorOption, SmallestUrlOption, StateOption
from atoms_migrate.cli.output import write_file as _write_file
from atoms_migrate.cli.root import app
from atoms_migrate.errors import EXIT_ERROR, ConfigError


def _source_identity(source: str, state: Path | None = None) -> tuple[list[str], str | None]:
    """(state keys, ElevenLabs agent id) of SOURCE: a file's keys (identity.py) and agent_id, or an agent id."""
    from atoms_migrate.cli.context import source_keys
    from atoms_migrate.source.shapes import normalise, read_config_file

    path = Path(source)
    if path.is_file():
        agent = normalise(read_config_file(path), str(path), path=str(path))
        return source_keys(source, state), agent.agent_id
    return [source], source


def _results_json(name: str, agent_id: str, results: list) -> dict[str, Any]:  # type: ignore[type-arg]
    opening = next((turn.reply for turn, _ in results if turn.user is None), None)  # the agent's first turn, when read
    return {
        "agent_id": agent_id,
        "platform": name,
        "opening": opening,
        "turns": [{**turn.to_dict(), "failures": failures, "passed": not failures} for turn, failures in results],
    }


def _junit(runs: list[dict[str, Any]], script: str) -> str:
    from atoms_migrate.report.ci import Case, junit_document

    cases = [
        Case(
            f"atoms-migrate.verify.{run['platform']}",
            "opening" if turn["user"] is None else f"turn {i}: {turn['user'][:60]}",
            turn["seconds"],
            tuple(turn["failures"]),
            "expectation",
            f"user: {turn['user']}\nagent: {turn['reply']}\nevents: {' '.join(turn['events'])}",
        )
        for run in runs
        for i, turn in enumerate(run["turns"])
    ]
    return junit_document("atoms-migrate verify", script, cases)


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
            help="Conversation script (YAML/JSON: turns with expectations); default: a smoke script built from the agent.",
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
    elevenlabs_base_url: ElevenLabsUrlOption = None,
    smallest_base_url: SmallestUrlOption = None,
    no_color: NoColorOption = False,
    debug: DebugOption = False,
) -> None:
    """Talk to the migrated agent over the Atoms realtime WebSocket (and to the original with --both); exit 1 on a failed expectation."""
    err = Console(stderr=True, highlight=False, no_color=no_color or None, soft_wrap=True)
    with error_boundary(debug):
        from atoms_migrate.apply.applier import detect_versioning, read_live
        from atoms_migrate.apply.state import DEFAULT_STATE_PATH, load_state
        from atoms_migrate.mapping.refs import parse_pairs
        from atoms_migrate.platforms.elevenlabs import DEFAULT_BASE_URL
        from atoms_migrate.platforms.realtime import AtomsSession, ElevenLabsSession, realtime_url
        from atoms_migrate.platforms.smallest import atoms_base_urls
        from atoms_migrate.verify.script import load_script, run_script, smoke_script, smoke_script_elevenlabs

        keys, elevenlabs_id = _source_identity(source, state)
        agents = load_state(state or DEFAULT_STATE_PATH).agents
        entry = next((agents[k] for k in keys if k in agents), None)
        agent_id = target or (entry.smallest_agent_id if entry else None)
        if not agent_id:
            raise ConfigError(
                f"{source} has no migrated Atoms agent in the state file",
                "Migrate it first, or pass --target AGENT_ID.",
            )
        atoms = _atoms_client(smallest_base_url, required=True)
        doc = atoms.get_agent(agent_id)
        if doc is None:
            raise ConfigError(f"Atoms has no agent {agent_id}", "Check --target, or migrate again.")
        versioning = detect_versioning(atoms, agent_id, "auto", entry.versioning if entry and not target else None)
        live, *_ = read_live(atoms, agent_id, versioning, None, doc)
        given = parse_pairs(variables or [], "--var")
        loaded = load_script(script) if script else None
        merged_vars = {**(loaded.variables if loaded else {}), **given}
        atoms_script = loaded or smoke_script(live, merged_vars)
        key_value = os.environ.get("SMALLEST_API_KEY", "").strip()  # scrubbed from output by cli._scrub
        host, _, _ = atoms_base_urls(smallest_base_url or os.environ.get("SMALLEST_BASE_URL"))
        atoms_url = os.environ.get("SMALLEST_REALTIME_URL") or realtime_url(host, "/atoms/v1/agent/connect")
        err.print(
            f"Talking to Atoms agent {agent_id} ({atoms_script.name} script, {len(atoms_script.turns)} turn(s))…",
            markup=False,
        )
        session = AtomsSession(atoms_url, key_value, agent_id, merged_vars, turn_timeout=turn_timeout)
        runs = [_results_json("atoms", agent_id, run_script(session, atoms_script, session_timeout, time.monotonic))]
        if both:
            if not elevenlabs_id:
                raise ConfigError(
                    f"{source} does not say its ElevenLabs agent id, so --both cannot reach it",
                    "Pass the ElevenLabs agent id as SOURCE.",
                )
            client = _elevenlabs_client(elevenlabs_base_url)
            with client.http:
                config = client.get_agent(elevenlabs_id)
                private = bool(((config.get("platform_settings") or {}).get("auth") or {}).get("enable_auth"))
                signed = client.get_signed_url(elevenlabs_id) if private else None
            base = elevenlabs_base_url or os.environ.get("ELEVENLABS_BASE_URL") or DEFAULT_BASE_URL
            el_url = os.environ.get("ELEVENLABS_REALTIME_URL") or realtime_url(base, "/v1/convai/conversation")
            el_script = loaded or smoke_script_elevenlabs(config, merged_vars)
            err.print(f"Talking to ElevenLabs agent {elevenlabs_id}{' (signed URL)' if signed else ''}…", markup=False)
            el_session = ElevenLabsSession(
                el_url, elevenlabs_id, merged_vars, signed_url=signed, turn_timeout=turn_timeout
            )
            runs.append(
                _results_json(
                    "elevenlabs", elevenlabs_id, run_script(el_session, el_script, session_timeout, time.monotonic)
                )
            )
        passed = all(t["passed"] for r in runs for t in r["turns"])
        if junit:
            _write_file(junit, _junit(runs, atoms_script.name))
        if json_output:
            sys.stdout.write(
                json.dumps(
                    {"format_version": "1", "script": atoms_script.name, "runs": runs, "passed": passed},
                    indent=2,
                    ensure_ascii=False,
                )
                + "\n"
            )
        else:
            out = Console(highlight=False, no_color=no_color or None)
            if not out.is_terminal:
                out = Console(highlight=False, no_color=no_color or None, width=160)
            _render(runs, out)
            failed = sum(not t["passed"] for r in runs for t in r["turns"])
            out.print(
                f"{'PASSED' if passed else 'FAILED'}: {failed} of {sum(len(r['turns']) for r in runs)} turn(s) failed.",
                markup=False,
            )
        if not passed:
            raise typer.Exit(EXIT_ERROR)
