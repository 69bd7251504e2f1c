"""Option declarations shared by several commands, so each reads (and `--help` shows) the same everywhere.

An option a variable can feed names it with ``envvar=`` (typer then shows ``[env var: …]`` in ``--help``); see
``settings.py`` for the variables that are not options.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from atoms_migrate.apply.gate import FailOn


class Versioning(StrEnum):
    auto = "auto"
    v2 = "v2"
    v1 = "v1"


class SandboxVersioning(StrEnum):
    v2 = "v2"
    v1 = "v1"


class OnDrift(StrEnum):
    keep = "keep"
    overwrite = "overwrite"


class OnConflict(StrEnum):
    fail = "fail"
    source = "source"
    target = "target"


__all__ = [
    "AllowErrorsOption",
    "DebugOption",
    "DirectOption",
    "ElevenLabsUrlOption",
    "FailOn",
    "MappingsOption",
    "MergeOption",
    "NoColorOption",
    "OnConflict",
    "OnConflictOption",
    "OnDrift",
    "OnDriftOption",
    "ReportOption",
    "SandboxVersioning",
    "SmallestUrlOption",
    "StateOption",
    "Versioning",
    "VerboseOption",
    "WaitLockOption",
    "YesOption",
]

AllowErrorsOption = Annotated[
    bool,
    typer.Option(
        "--allow-errors",
        help="Apply agents whose plan has error findings (what cannot work is still left out); by default they are "
        "refused.",
    ),
]
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
ReportOption = Annotated[
    Path | None,
    typer.Option(
        "--report", help="Write a markdown report (also appended to $GITHUB_STEP_SUMMARY when set).", dir_okay=False
    ),
]
StateOption = Annotated[
    Path | None, typer.Option("--state", help="State file (default: .atoms-migrate/state.json).", dir_okay=False)
]
SmallestUrlOption = Annotated[
    str | None,
    typer.Option(
        "--smallest-base-url",
        envvar="SMALLEST_BASE_URL",
        help="Smallest API host (default: $SMALLEST_BASE_URL or https://api.smallest.ai; a value ending in "
        "/atoms/v1 is accepted).",
    ),
]
ElevenLabsUrlOption = Annotated[
    str | None,
    typer.Option(
        "--elevenlabs-base-url",
        envvar="ELEVENLABS_BASE_URL",
        help="ElevenLabs API host (default: $ELEVENLABS_BASE_URL or https://api.elevenlabs.io).",
    ),
]
DirectOption = Annotated[
    bool,
    typer.Option(
        "--direct",
        help="Update a live agent in place. Default: stage on a new branch, publish there, read it back, and make "
        "it live only when it equals the plan.",
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
VerboseOption = Annotated[
    bool,
    typer.Option(
        "-v",
        "--verbose",
        help="List ignored fields, the note behind every change, and both rendered calls of every tool.",
    ),
]
OnDriftOption = Annotated[
    OnDrift,
    typer.Option(
        "--on-drift",
        help="An agent edited on Atoms since the last migration, source unchanged: keep the edits (write nothing) "
        "or overwrite them.",
        case_sensitive=False,
    ),
]
OnConflictOption = Annotated[
    OnConflict,
    typer.Option(
        "--on-conflict",
        help="Source and Atoms both changed: fail (write nothing, exit 1), re-apply the source, or keep the Atoms "
        "edits (target) and record the new source.",
        case_sensitive=False,
    ),
]
MergeOption = Annotated[
    bool,
    typer.Option(
        "--merge",
        help="On a conflict, write the source's changes when they touch other fields than the Atoms edits "
        "(overlapping fields stay a conflict).",
    ),
]
