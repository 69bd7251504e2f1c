"""From parsed options and ``Settings`` to the core's inputs: the run's config, the state lock, the source.

Shared by the commands that migrate (``agent``, ``all``, ``apply``) and those that read what was migrated
(``status``, ``voices``, ``promote``, ``rollback``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from atoms_migrate import __version__
from atoms_migrate.cli.boundary import remember_secrets
from atoms_migrate.cli.clients import elevenlabs_for_apply
from atoms_migrate.errors import SourceFileError
from atoms_migrate.settings import Settings

if TYPE_CHECKING:  # the core is imported when a command runs, so `--help` stays fast
    from atoms_migrate.apply.run import RunConfig
    from atoms_migrate.apply.statelock import StateLock
    from atoms_migrate.mapping.tables import MappingTables, VoiceTable
    from atoms_migrate.mapping.webhooks import ToolOptions
    from atoms_migrate.source.shapes import SourceAgent


def state_path(state: Path | None) -> Path:
    """--state, else the default state file."""
    from atoms_migrate.apply.state import DEFAULT_STATE_PATH

    return state or DEFAULT_STATE_PATH


def project_root(state: Path | None) -> Path:
    from atoms_migrate.source.identity import project_root as root_of

    return root_of(state_path(state))


def tool_options(
    set_values: list[str] | None, secrets: list[str] | None, settings: Settings
) -> tuple[ToolOptions, dict[str, str]]:
    """--set / --secret (plus ATOMS_MIGRATE_SECRET_*) as mapping options and secret values (scrubbed from output)."""
    from atoms_migrate.mapping.refs import parse_pairs, secrets_from
    from atoms_migrate.mapping.webhooks import ToolOptions

    secret_values = secrets_from(secrets or [], environ=settings.secret_env)
    remember_secrets(secret_values.values())
    options = ToolOptions(values=parse_pairs(set_values or [], "--set"), secret_names=frozenset(secret_values))
    return options, secret_values


def run_config(
    tables: MappingTables,
    state: Path | None,
    set_values: list[str] | None,
    secrets: list[str] | None,
    clone_voices: bool,
    branch: str | None,
    force: bool,
    versioning: str,
    publish_timeout: float,
    direct: bool = False,
    on_drift: str = "keep",
    on_conflict: str = "fail",
    merge: bool = False,
    *,
    settings: Settings,
) -> RunConfig:
    """The options of a migrating run, as the core's ``RunConfig``."""
    from atoms_migrate.apply.documents import find_unicode_font
    from atoms_migrate.apply.run import RunConfig
    from atoms_migrate.apply.sync import Choices

    options, secret_values = tool_options(set_values, secrets, settings)
    return RunConfig(
        tables=tables,
        state_path=state_path(state),
        tool_options=options,
        secret_values=secret_values,
        clone_voices=clone_voices,
        branch=branch,
        force=force,
        versioning=versioning,
        publish_timeout=publish_timeout,
        label_prefix=f"atoms-migrate {__version__}",
        direct=direct,
        font=find_unicode_font(settings.pdf_font),
        sync=Choices(on_drift=on_drift, on_conflict=on_conflict, merge=merge),
    )


def state_lock(state: Path | None, wait: float) -> StateLock:
    """The state file's exclusive lock for a run that writes (statelock.py); enter it before reading the state."""
    from atoms_migrate.apply.statelock import StateLock

    return StateLock(state_path(state), wait=wait)


def read_source(
    source: str,
    tools_dir: Path | None,
    elevenlabs_base_url: str | None,
    err: Console,
    voice_table: VoiceTable,
    state: Path | None = None,
    *,
    settings: Settings,
) -> SourceAgent:
    """Read SOURCE (a file, or an agent id fetched from ElevenLabs) into a SourceAgent.

    With ELEVENLABS_API_KEY set, the tools, voices and documents it references are read
    too, for a file as well as for an id (``run.read_source``).
    """
    from atoms_migrate.apply.run import read_source as read
    from atoms_migrate.source.select import AGENT_ID, SourceSpec
    from atoms_migrate.source.shapes import load_tools_dir

    path = Path(source)
    offline_tools = load_tools_dir(tools_dir) if tools_dir else {}
    looks_like_file = path.suffix.lower() in (".json", ".yaml", ".yml") or os.sep in source or "/" in source
    if path.exists() or looks_like_file:
        spec = SourceSpec(source, "file")
    elif AGENT_ID.match(source):
        spec = SourceSpec(source, "id")
    else:
        raise SourceFileError(
            f"{source}: no such file, and not an ElevenLabs agent id",
            "Pass an exported agent config (JSON/YAML) or an agent id such as agent_7101k5zv….",
        )
    with elevenlabs_for_apply(elevenlabs_base_url, settings=settings) as client:
        if client is not None and spec.kind == "id":
            err.print(f"Reading agent {source} from ElevenLabs…", markup=False, highlight=False)
        return read(spec, client, voice_table, offline_tools, root=project_root(state))


def source_keys(source: str, state: Path | None) -> list[str]:
    """Every state key SOURCE may be recorded under (``release.source_keys``)."""
    from atoms_migrate.apply.release import source_keys as keys

    return keys(source, state_path(state))
