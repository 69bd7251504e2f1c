"""The command line: the only layer that reads the environment, talks to the terminal and picks exit codes.

``__init__`` holds the typer ``app``, the shared options, the one error boundary and the single-agent commands
(``agent``, ``promote``, ``rollback``, ``sandbox``, ``voices``, ``mappings check``); each further command group is a
module here that registers on ``app``: ``batch`` (``all``, ``apply``), ``scan``, ``verify``.

New command: a module here, imported at the bottom of ``__init__`` so it registers. It parses options, builds the
clients, calls the core, renders and returns an exit code; migration logic belongs in the core packages.
"""

from __future__ import annotations

import json
import os
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from atoms_migrate import __version__
from atoms_migrate.apply.gate import FailOn
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


_SECRET_VALUES: set[str] = set()  # --secret values of this run, scrubbed like API keys


def _scrub(text: str) -> str:
    values = [os.environ.get(var) for var in SECRET_ENV_VARS]
    values += [v for k, v in os.environ.items() if k.startswith("ATOMS_MIGRATE_SECRET_")]
    for value in sorted({v for v in [*values, *_SECRET_VALUES] if v and len(v) >= 4}, key=len, reverse=True):
        text = text.replace(value, "<redacted>")
    return text


def _tool_options(set_values: list[str] | None, secrets: list[str] | None):  # type: ignore[no-untyped-def]
    """--set / --secret (plus ATOMS_MIGRATE_SECRET_*) as mapping options and secret values."""
    from atoms_migrate.mapping.refs import parse_pairs, secrets_from
    from atoms_migrate.mapping.webhooks import ToolOptions

    secret_values = secrets_from(secrets or [])
    _SECRET_VALUES.update(secret_values.values())
    return ToolOptions(
        values=parse_pairs(set_values or [], "--set"), secret_names=frozenset(secret_values)
    ), secret_values


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
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Migrate ElevenLabs Conversational AI agents to Smallest AI Atoms."""


MAX_REDIRECTS = 5  # a redirect loop stops here with a clear message instead of after httpx's 20
REQUEST_DEADLINE = (
    120.0  # seconds for one whole request, body included (deadline.py): a dripping server cannot hold a run
)


def _api_key(var: str) -> str:
    """The key in ``var``, stripped; one that could not be a header value is refused without echoing it."""
    key = os.environ.get(var, "").strip()
    if any(c in key for c in "\r\n"):
        raise ConfigError(
            f"{var} contains a newline", f"Set {var} to the key alone (check how it was pasted or read from a file)."
        )
    if not key.isascii() or not key.isprintable() or " " in key:
        raise ConfigError(
            f"{var} contains a character that cannot be part of an API key (non-ASCII, a space or a control character)",
            f"Set {var} to the key alone, as copied from the vendor's dashboard.",
        )
    return key


def _elevenlabs_client(base_url: str | None, gate=None):  # type: ignore[no-untyped-def]
    import httpx

    from atoms_migrate.platforms.deadline import DeadlineTransport
    from atoms_migrate.platforms.elevenlabs import DEFAULT_BASE_URL, ElevenLabsClient

    key = _api_key("ELEVENLABS_API_KEY")
    if not key:
        raise ConfigError(
            "ELEVENLABS_API_KEY is not set, so the agent cannot be read from ElevenLabs",
            "Export ELEVENLABS_API_KEY, or pass an exported agent config file instead of an id.",
        )
    base = (base_url or os.environ.get("ELEVENLABS_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ConfigError(
            f"ELEVENLABS_BASE_URL {base!r} is not an http(s) URL", "Use e.g. https://api.eu.residency.elevenlabs.io"
        )
    http = httpx.Client(
        base_url=base,
        headers={"xi-api-key": key, "User-Agent": f"atoms-migrate/{__version__}", "Accept": "application/json"},
        timeout=httpx.Timeout(30.0, connect=10.0),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        transport=DeadlineTransport(REQUEST_DEADLINE),
        event_hooks=gate.hooks() if gate else None,
    )
    downloads = httpx.Client(
        headers={"User-Agent": f"atoms-migrate/{__version__}"},
        timeout=httpx.Timeout(60.0, connect=10.0),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        transport=DeadlineTransport(REQUEST_DEADLINE * 2),
    )
    return ElevenLabsClient(http, downloads=downloads)


def _atoms_client(base_url: str | None, required: bool, gate=None):  # type: ignore[no-untyped-def]
    """The Atoms client, or None when no key is set and none is required (a dry run plans a create)."""
    import httpx

    from atoms_migrate.platforms.deadline import DeadlineTransport
    from atoms_migrate.platforms.smallest import AtomsClient, atoms_base_urls

    key = _api_key("SMALLEST_API_KEY")
    if not key:
        if not required:
            return None
        raise ConfigError(
            "SMALLEST_API_KEY is not set, so nothing can be written to Smallest Atoms",
            "Export SMALLEST_API_KEY (or run `atoms-migrate sandbox` to rehearse), or use --dry-run.",
        )
    host, _, _ = atoms_base_urls(base_url or os.environ.get("SMALLEST_BASE_URL"))
    http = httpx.Client(
        base_url=host,
        headers={
            "Authorization": f"Bearer {key}",
            "User-Agent": f"atoms-migrate/{__version__}",
            "Accept": "application/json",
        },
        timeout=httpx.Timeout(30.0, connect=10.0),
        transport=DeadlineTransport(REQUEST_DEADLINE),
        event_hooks=gate.hooks() if gate else None,
    )
    return AtomsClient(http)


def _read_source(
    source: str,
    tools_dir: Path | None,
    elevenlabs_base_url: str | None,
    err: Console,
    voice_table,  # type: ignore[no-untyped-def]
    state: Path | None = None,
):
    """Read SOURCE (a file, or an agent id fetched from ElevenLabs) into a SourceAgent.

    With ELEVENLABS_API_KEY set, the tools, voices and documents it references are read
    too, for a file as well as for an id (``run.read_source``).
    """
    from atoms_migrate.apply.run import read_source
    from atoms_migrate.source.select import SourceSpec
    from atoms_migrate.source.shapes import load_tools_dir

    path = Path(source)
    offline_tools = load_tools_dir(tools_dir) if tools_dir else {}
    looks_like_file = path.suffix.lower() in (".json", ".yaml", ".yml") or os.sep in source or "/" in source
    if path.exists() or looks_like_file:
        spec = SourceSpec(source, "file")
    elif _AGENT_ID.match(source):
        spec = SourceSpec(source, "id")
    else:
        raise SourceFileError(
            f"{source}: no such file, and not an ElevenLabs agent id",
            "Pass an exported agent config (JSON/YAML) or an agent id such as agent_7101k5zv….",
        )
    with _elevenlabs_for_apply(elevenlabs_base_url) as client:
        if client is not None and spec.kind == "id":
            err.print(f"Reading agent {source} from ElevenLabs…", markup=False, highlight=False)
        return read_source(spec, client, voice_table, offline_tools, root=_project_root(state))  # type: ignore[arg-type]


AllowErrorsOption = Annotated[
    bool,
    typer.Option(
        "--allow-errors",
        help="Apply agents whose plan has error findings (what cannot work is still left out); by default they are refused.",
    ),
]


def _write_file(path: Path, text: str, mode: str = "w") -> None:
    """Write (or, with mode "a", append) an output file; failure is one clear error."""
    try:
        with open(path, mode, encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from exc


def _write_reports(plan, report: Path | None, results=None, extra: str = "") -> None:  # type: ignore[no-untyped-def]
    """The markdown report to --report, and appended to $GITHUB_STEP_SUMMARY when set."""
    from atoms_migrate.report.markdown import plan_markdown

    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if not report and not summary_file:
        return
    markdown = plan_markdown(plan, results=results) + extra
    if report:
        _write_file(report, markdown)
    if summary_file:
        _write_file(Path(summary_file), markdown, "a")


MappingsOption = Annotated[
    Path | None,
    typer.Option(
        "--mappings",
        help="Directory of mapping tables overriding the built-in ones, file by file.",
        file_okay=False,
        exists=False,
    ),
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")]


class Versioning(str, Enum):
    auto = "auto"
    v2 = "v2"
    v1 = "v1"


class SandboxVersioning(str, Enum):
    v2 = "v2"
    v1 = "v1"


StateOption = Annotated[
    Path | None, typer.Option("--state", help="State file (default: .atoms-migrate/state.json).", dir_okay=False)
]
SmallestUrlOption = Annotated[
    str | None,
    typer.Option(
        "--smallest-base-url",
        help="Smallest API host (default: $SMALLEST_BASE_URL or https://api.smallest.ai; a value ending in /atoms/v1 is accepted).",
    ),
]
DirectOption = Annotated[
    bool,
    typer.Option(
        "--direct",
        help="Update a live agent in place. Default: stage on a new branch, publish there, read it back, and make it live only when it equals the plan.",
    ),
]
WaitLockOption = Annotated[
    float,
    typer.Option(
        "--wait-lock",
        help="Seconds to wait for another run holding the state file's lock (default: fail at once, exit 4).",
        min=0,
        metavar="SECONDS",
    ),
]
YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (required without a terminal).")
]
NoColorOption = Annotated[bool, typer.Option("--no-color", help="Plain output without colour.")]
ElevenLabsUrlOption = Annotated[
    str | None,
    typer.Option(
        "--elevenlabs-base-url",
        help="ElevenLabs API host (default: $ELEVENLABS_BASE_URL or https://api.elevenlabs.io).",
    ),
]


class OnDrift(str, Enum):
    keep = "keep"
    overwrite = "overwrite"


class OnConflict(str, Enum):
    fail = "fail"
    source = "source"
    target = "target"


OnDriftOption = Annotated[
    OnDrift,
    typer.Option(
        "--on-drift",
        help="An agent edited on Atoms since the last migration, source unchanged: keep the edits (write nothing) or overwrite them.",
        case_sensitive=False,
    ),
]
OnConflictOption = Annotated[
    OnConflict,
    typer.Option(
        "--on-conflict",
        help="Source and Atoms both changed: fail (write nothing, exit 1), re-apply the source, or keep the Atoms edits (target) and record the new source.",
        case_sensitive=False,
    ),
]
MergeOption = Annotated[
    bool,
    typer.Option(
        "--merge",
        help="On a conflict, write the source's changes when they touch other fields than the Atoms edits (overlapping fields stay a conflict).",
    ),
]


def _ask(question: str, yes: bool) -> bool:
    """May we write? True with --yes; else asked on the terminal (no terminal: refused with a hint)."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise ConfigError(
            "refusing to write to Smallest Atoms without confirmation: there is no terminal to ask on",
            "Pass --yes to apply non-interactively (CI).",
        )
    return typer.confirm(question, default=False, err=True)


def _confirm(question: str, yes: bool) -> None:
    if not _ask(question, yes):
        raise MigrationError("cancelled; nothing was written")


def _print_result(result, source: str, out: Console) -> None:  # type: ignore[no-untyped-def]
    from atoms_migrate.report.values import short

    where = f"branch {result.branch_name!r}" if result.branch_name else f"version {result.revision_id}"
    status = "live" if result.live else "staged, not live"
    out.print(f"Applied to Atoms agent {result.agent_id} ({where}, {status}).", markup=False, highlight=False)
    if result.differences:
        out.print(
            f"Verification FAILED: {len(result.differences)} field(s) read back differ from the plan:",
            markup=False,
            highlight=False,
        )
        for path, expected, actual in result.differences:
            out.print(
                f"    {path}: planned {short(expected, 40)}, live {short(actual, 40)}", markup=False, highlight=False
            )
    else:
        out.print("Verified: the config read back from Atoms matches the plan.", markup=False, highlight=False)
    if not result.live:
        out.print(f"Promote it with: atoms-migrate promote {source}", markup=False, highlight=False)


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
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", help="Write a markdown report (also appended to $GITHUB_STEP_SUMMARY when set).", dir_okay=False
        ),
    ] = None,
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
            help="NAME=VALUE: fill a placeholder (${NAME}, <NAME>, {{NAME}}, or an ALL-CAPS host like YOUR_BACKEND_HOST) in tool URLs and headers. Repeatable.",
            metavar="NAME=VALUE",
        ),
    ] = None,
    clone_voices: Annotated[
        bool,
        typer.Option(
            "--clone-voices",
            help="Clone non-premade ElevenLabs voices on Smallest from their samples instead of suggesting a catalog voice (voice consent is yours).",
        ),
    ] = False,
    secrets: Annotated[
        list[str] | None,
        typer.Option(
            "--secret",
            help="NAME=VALUE: value of a secret a tool header needs (also $ATOMS_MIGRATE_SECRET_<NAME>); never shown or stored. Repeatable.",
            metavar="NAME=VALUE",
        ),
    ] = None,
    elevenlabs_base_url: Annotated[
        str | None,
        typer.Option(
            "--elevenlabs-base-url",
            help="ElevenLabs API host (default: $ELEVENLABS_BASE_URL or https://api.elevenlabs.io).",
        ),
    ] = None,
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
            help="Save the plan (with hashes of the source and of the target's live revision) for `atoms-migrate apply`.",
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
            help="Exit 3, before writing anything, when the plan has findings at this level or worse: error < unmapped < lossy.",
            case_sensitive=False,
        ),
    ] = None,
    on_drift: OnDriftOption = OnDrift.keep,
    on_conflict: OnConflictOption = OnConflict.fail,
    merge: MergeOption = False,
    allow_errors: AllowErrorsOption = False,
    wait_lock: WaitLockOption = 0.0,
    no_color: Annotated[bool, typer.Option("--no-color", help="Plain output without colour.")] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "-v",
            "--verbose",
            help="List ignored fields, the note behind every change, and both rendered calls of every tool.",
        ),
    ] = False,
    debug: DebugOption = False,
) -> None:
    """Migrate one ElevenLabs agent to Smallest Atoms: plan, show the diff, apply, verify by reading back."""
    err = Console(stderr=True, highlight=False, no_color=no_color or None)
    with error_boundary(debug), nullcontext() if dry_run else _state_lock(state, wait_lock):
        from atoms_migrate.apply import flow
        from atoms_migrate.apply.run import Run, describe
        from atoms_migrate.mapping.tables import load_tables
        from atoms_migrate.report.progress import WaitProgress
        from atoms_migrate.source.select import SourceSpec

        def say(text: str) -> None:
            err.print(text, markup=False)

        tables = load_tables(mappings)
        config = _run_config(
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
        )
        source_agent = _read_source(source, tools_dir, elevenlabs_base_url, err, tables.voices, state)
        atoms = _atoms_client(smallest_base_url, required=not dry_run)
        if atoms is not None:
            err.print("Reading the target from Smallest Atoms…", markup=False)
        with _elevenlabs_for_apply(elevenlabs_base_url) as elevenlabs:
            run = Run(
                config,
                atoms,
                elevenlabs,
                progress=lambda key, text: err.print(f"  {text}", markup=False),
                tracker=WaitProgress(err),
            )
            run.reveal = lambda text: err.print(text, markup=False, highlight=False)
            planned = run.plan(source_agent)
            agent_plan = planned.plan
            _SECRET_VALUES.update(
                agent_plan.secret_values.values()
            )  # literal credentials of the source: scrubbed like keys
            item = flow.Item(SourceSpec(source, "id" if source_agent.agent_id == source else "file"))
            item.source, item.planned = source_agent, planned
            plan = flow.combined_plan([item])
            out = Console(highlight=False, no_color=no_color or None, soft_wrap=True)
            if not json_output:
                from atoms_migrate.report.human import render_plan

                render_plan(plan, out, verbose=verbose)
            _write_reports(plan, report)
            if out_file:
                _save_plan(out_file, [({"kind": item.spec.kind, "ref": source}, planned)], config)
            options = flow.FlowOptions(
                dry_run=dry_run,
                fail_on=fail_on,
                allow_errors=allow_errors,
                detailed_exitcode=detailed_exitcode,
                single=True,
            )
            run_report = flow.post_plan(
                [item], plan, run, options, confirm=lambda question: _ask(question, yes), say=say
            )
        if run_report.cancelled and run_report.error is not None:
            raise run_report.error
        if not run_report.applied:
            if json_output:
                sys.stdout.write(json.dumps(plan.to_dict(), indent=2, ensure_ascii=False) + "\n")
            if run_report.error is not None:
                raise run_report.error
            if run_report.gate and fail_on is not None:
                written = "" if dry_run else " Nothing was written."
                say(f"--fail-on {fail_on.value}: the plan has findings at that level (see Needs review).{written}")
            if run_report.exit_code():
                raise typer.Exit(run_report.exit_code())
            return
        outcome = item.outcome
        assert outcome is not None
        for failure in outcome.resources.failures:
            err.print(f"  warning: {failure}", markup=False)
        if outcome.result is None:  # the apply failed before it had a result: the error says why
            raise outcome.error or MigrationError("the apply failed")
        if json_output:
            doc = plan.to_dict()
            doc["apply"] = [describe(outcome)]
            sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        else:
            _print_result(outcome.result, source, out)
        if outcome.error is not None and not outcome.result.differences:
            raise outcome.error
        if run_report.exit_code():
            raise typer.Exit(run_report.exit_code())


def _settings(config) -> dict:  # type: ignore[no-untyped-def]
    """The options a saved plan must be applied with (no secret values: those are given again)."""
    return {
        "set": dict(config.tool_options.values),
        "secret_names": sorted(config.tool_options.secret_names),
        "clone_voices": config.clone_voices,
        "branch": config.branch,
        "force": config.force,
        "versioning": config.versioning,
        "publish_timeout": config.publish_timeout,
        "direct": config.direct,
        "on_drift": config.sync.on_drift,
        "on_conflict": config.sync.on_conflict,
        "merge": config.sync.merge,
    }


def _save_plan(path: Path, entries, config) -> None:  # type: ignore[no-untyped-def]
    from atoms_migrate.apply import saved as savedplan
    from atoms_migrate.apply.state import tables_hash

    savedplan.write(path, savedplan.saved_plan(entries, tables_hash(config.tables), _settings(config)))


def _run_config(
    tables,
    state: Path | None,
    set_values: list[str] | None,
    secrets: list[str] | None,
    clone_voices: bool,  # type: ignore[no-untyped-def]
    branch: str | None,
    force: bool,
    versioning: str,
    publish_timeout: float,
    direct: bool = False,
    on_drift: str = "keep",
    on_conflict: str = "fail",
    merge: bool = False,
):
    from atoms_migrate.apply.documents import find_unicode_font
    from atoms_migrate.apply.run import RunConfig
    from atoms_migrate.apply.state import DEFAULT_STATE_PATH
    from atoms_migrate.apply.sync import Choices

    tool_options, secret_values = _tool_options(set_values, secrets)
    return RunConfig(
        tables=tables,
        state_path=state or DEFAULT_STATE_PATH,
        tool_options=tool_options,
        secret_values=secret_values,
        clone_voices=clone_voices,
        branch=branch,
        force=force,
        versioning=versioning,
        publish_timeout=publish_timeout,
        label_prefix=f"atoms-migrate {__version__}",
        direct=direct,
        font=find_unicode_font(os.environ.get("ATOMS_MIGRATE_PDF_FONT")),
        sync=Choices(on_drift=on_drift, on_conflict=on_conflict, merge=merge),
    )


def _state_lock(state: Path | None, wait: float):  # type: ignore[no-untyped-def]
    """The state file's exclusive lock for a run that writes (statelock.py); enter it before reading the state."""
    from atoms_migrate.apply.state import DEFAULT_STATE_PATH
    from atoms_migrate.apply.statelock import StateLock

    return StateLock(state or DEFAULT_STATE_PATH, wait=wait)


@contextmanager
def _elevenlabs_for_apply(base_url: str | None, gate=None) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """The ElevenLabs client when a key is set (resources read their content from it), else None."""
    if not os.environ.get("ELEVENLABS_API_KEY", "").strip():
        yield None
        return
    client = _elevenlabs_client(base_url, gate)
    try:
        yield client
    finally:
        client.http.close()
        if client.downloads is not None:
            client.downloads.close()


def _project_root(state: Path | None) -> Path:
    from atoms_migrate.apply.state import DEFAULT_STATE_PATH
    from atoms_migrate.source.identity import project_root

    return project_root(state or DEFAULT_STATE_PATH)


def source_keys(source: str, state: Path | None) -> list[str]:
    """Every state key SOURCE may be recorded under (``apply.release.source_keys``)."""
    from atoms_migrate.apply.release import source_keys as keys
    from atoms_migrate.apply.state import DEFAULT_STATE_PATH

    return keys(source, state or DEFAULT_STATE_PATH)


@app.command()
def promote(
    source: Annotated[str, typer.Argument(help="The SOURCE of a staged migration (agent id or file).")],
    yes: YesOption = False,
    state: StateOption = None,
    smallest_base_url: SmallestUrlOption = None,
    wait_lock: WaitLockOption = 0.0,
    debug: DebugOption = False,
) -> None:
    """Make the branch a staged migration (--branch) wrote to the live one."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    with error_boundary(debug), _state_lock(state, wait_lock):
        from atoms_migrate.apply import release
        from atoms_migrate.apply.state import DEFAULT_STATE_PATH

        done = release.promote(
            source,
            state or DEFAULT_STATE_PATH,
            connect=lambda: _atoms_client(smallest_base_url, required=True),
            confirm=lambda question: _ask(question, yes),
        )
        err.print(f"Branch {done.branch_name!r} is now live on Atoms agent {done.agent_id}.", markup=False)


@app.command()
def rollback(
    source: Annotated[str, typer.Argument(help="The SOURCE of a migration (agent id or file).")],
    yes: YesOption = False,
    state: StateOption = None,
    smallest_base_url: SmallestUrlOption = None,
    wait_lock: WaitLockOption = 0.0,
    debug: DebugOption = False,
) -> None:
    """Undo the last apply: restore the revision live before it, or archive the agent if this tool created it."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    with error_boundary(debug), _state_lock(state, wait_lock):
        from atoms_migrate.apply import release
        from atoms_migrate.apply.state import DEFAULT_STATE_PATH

        done = release.rollback(
            source,
            state or DEFAULT_STATE_PATH,
            connect=lambda: _atoms_client(smallest_base_url, required=True),
            confirm=lambda question: _ask(question, yes),
            say=lambda text: err.print(text, markup=False),
        )
        if done.archived:
            err.print(
                f"Archived Atoms agent {done.agent_id}; restore it with DELETE /agent/{done.agent_id}/archive?on=false.",
                markup=False,
            )
        else:
            err.print(f"Rolled back Atoms agent {done.agent_id} ({done.undone} undone).", markup=False)


@app.command()
def sandbox(
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (0 picks a free one).", min=0, max=65535)] = 0,
    versioning: Annotated[
        SandboxVersioning,
        typer.Option("--versioning", help="Versioning model of the fake Atoms account.", case_sensitive=False),
    ] = SandboxVersioning.v2,
    seed: Annotated[
        list[Path] | None,
        typer.Option(
            "--seed",
            metavar="PATH",
            help="ElevenLabs agent config file or folder to serve from the fake ElevenLabs API (repeatable).",
        ),
    ] = None,
    scan_reads: Annotated[
        int, typer.Option("--scan-reads", help="Reads before a fake security scan finishes.", min=0)
    ] = 1,
    ignore_field: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore-field",
            metavar="FIELD",
            help="A draft field the fake accepts but does not keep, to rehearse a failed read-back (repeatable).",
        ),
    ] = None,
    behaviour: Annotated[
        list[str] | None,
        typer.Option(
            "--behaviour",
            metavar="NAME",
            help="An account behaviour for a point the API reference leaves open (repeatable): prompt-in-global-prompt, ignore-post-call-analytics, concurrent-edit, pro-voice-model.",
        ),
    ] = None,
    debug: DebugOption = False,
) -> None:
    """Run fake Smallest Atoms and ElevenLabs APIs on 127.0.0.1 to rehearse a migration safely."""
    with error_boundary(debug):
        import time

        from atoms_migrate.errors import NotAnAgentConfig
        from atoms_migrate.sandbox.server import ATOMS_KEY, ELEVENLABS_KEY, Sandbox
        from atoms_migrate.source.shapes import normalise, read_config_file

        box = Sandbox(versioning=versioning.value, scan_reads=scan_reads)
        box.atoms.ignored_draft_fields = set(ignore_field or [])
        try:
            box.atoms.set_behaviours(behaviour or [])
        except ValueError as exc:
            raise ConfigError(str(exc), "Pick from the names --help lists.") from exc
        seeded = []
        for item in seed or []:
            files = (
                sorted(p for p in item.rglob("*") if p.suffix.lower() in (".json", ".yaml", ".yml"))
                if item.is_dir()
                else [item]
            )
            for file in files:
                try:
                    raw = read_config_file(file)
                    agent = normalise(raw, str(file), path=str(file))
                except (SourceFileError, NotAnAgentConfig):
                    continue
                seeded.append(box.elevenlabs.add_agent(raw if isinstance(raw, dict) else agent.config, agent.agent_id))
        server = box.serve("127.0.0.1", port)
        url = f"http://127.0.0.1:{server.server_address[1]}"
        realtime = box.serve_realtime("127.0.0.1")
        lines = [
            f"# atoms-migrate sandbox ({box.atoms.versioning}) listening on {url}; Ctrl-C stops it.",
            f"export SMALLEST_BASE_URL={url}",
            f"export SMALLEST_API_KEY={ATOMS_KEY}",
            f"export ELEVENLABS_BASE_URL={url}",
            f"export ELEVENLABS_API_KEY={ELEVENLABS_KEY}",
            f"export SMALLEST_REALTIME_URL={realtime}/atoms/v1/agent/connect",
            f"export ELEVENLABS_REALTIME_URL={realtime}/v1/convai/conversation",
            f"# seeded ElevenLabs agents: {' '.join(seeded) if seeded else 'none (use --seed)'}",
            f"# request log and fake state: curl {url}/_sandbox/state",
        ]
        typer.echo("\n".join(lines))
        sys.stdout.flush()
        try:
            while True:
                time.sleep(3600)
        finally:
            server.shutdown()
            box.realtime.shutdown()


@app.command()
def doctor(
    probe: Annotated[
        bool,
        typer.Option(
            "--probe",
            help="Also create one throw-away agent (atoms-migrate-probe-<time>), write each uncertain field in each form, read back, record what works in the state file, and archive the agent (also when interrupted).",
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
    err = Console(stderr=True, highlight=False, no_color=no_color or None, soft_wrap=True)
    with error_boundary(debug):
        import signal

        from atoms_migrate.apply import doctor as doc
        from atoms_migrate.apply.state import DEFAULT_STATE_PATH, update_state
        from atoms_migrate.platforms.smallest import atoms_base_urls

        report = doc.Report()
        atoms = _atoms_client(smallest_base_url, required=False)
        host = atoms_base_urls(smallest_base_url or os.environ.get("SMALLEST_BASE_URL"))[0]
        headers = doc.RateHeaders()
        if atoms is not None:
            atoms.http.event_hooks["response"].append(headers)
        elevenlabs = (
            _elevenlabs_client(elevenlabs_base_url) if os.environ.get("ELEVENLABS_API_KEY", "").strip() else None
        )
        doc.diagnose(atoms, elevenlabs, host, report)
        if probe and atoms is not None and not report.failed:
            _confirm(
                "Create a throw-away agent on Smallest Atoms to probe the write forms (it is archived afterwards)?", yes
            )

            def stop(signum, frame):  # type: ignore[no-untyped-def]
                raise KeyboardInterrupt  # the probe's `finally` archives its agent

            previous = signal.signal(signal.SIGTERM, stop)
            try:
                doc.probe(atoms, report, progress=lambda text: err.print(f"  {text}", markup=False))
            finally:
                signal.signal(signal.SIGTERM, previous)
            if report.forms:
                update_state(state or DEFAULT_STATE_PATH, lambda s: s.write_forms.update(report.forms))
        report.checks.append(doc.rate_check(headers))
        if json_output:
            sys.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
        else:
            _print_doctor(report, Console(highlight=False, no_color=no_color or None, soft_wrap=True))
        if report.failed:
            raise typer.Exit(EXIT_ERROR)


def _print_doctor(report, out: Console) -> None:  # type: ignore[no-untyped-def]
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
        for c in report.capabilities:
            table.add_row(c.field, c.form, {True: "yes", False: "no", None: "not tried"}[c.kept], c.note)
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
    elevenlabs_base_url: Annotated[
        str | None,
        typer.Option(
            "--elevenlabs-base-url",
            help="ElevenLabs API host (default: $ELEVENLABS_BASE_URL or https://api.elevenlabs.io).",
        ),
    ] = None,
    smallest_base_url: SmallestUrlOption = None,
    debug: DebugOption = False,
) -> None:
    """Show which Smallest voice each ElevenLabs voice becomes, with confidence and alternatives.

    With ELEVENLABS_API_KEY, voices outside the premade table are matched by their labels;
    with SMALLEST_API_KEY, every voice is checked against the account's Lightning v3.1 catalog.
    """
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    with error_boundary(debug):
        from atoms_migrate.apply.run import read_catalog
        from atoms_migrate.mapping.tables import load_tables
        from atoms_migrate.mapping.voices import pick_to_dict, pick_voice
        from atoms_migrate.source.shapes import voice_roles

        tables = load_tables(mappings)
        catalog, catalog_note = read_catalog(_atoms_client(smallest_base_url, required=False))
        notes: list[str] = [catalog_note] if catalog_note else []
        if source is None:
            rows = [
                pick_to_dict("table", pick_voice(v.elevenlabs_id, tables.voices, None, catalog))
                for v in tables.voices.voices
            ]
        else:
            agent_source = _read_source(source, None, elevenlabs_base_url, err, tables.voices)
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
                "SMALLEST_API_KEY is not set or the catalog was unreadable: voices were not checked against the live catalog."
            )
        if json_output:
            doc = {"format_version": 1, "catalog_checked": catalog is not None, "notes": notes, "voices": rows}
            sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
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
            err = Console(stderr=True, highlight=False, soft_wrap=True)
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


def main() -> None:
    app()


from atoms_migrate.cli import batch as cli_batch  # noqa: E402,F401  (registers `all` and `apply` on the app)
from atoms_migrate.cli import scan as cli_scan  # noqa: E402,F401  (registers `scan` on the app)
from atoms_migrate.cli import status as cli_status  # noqa: E402,F401  (registers `status` on the app)
from atoms_migrate.cli import verify as cli_verify  # noqa: E402,F401  (registers `verify` on the app)
