"""``atoms-migrate sandbox``: fake Smallest Atoms and ElevenLabs APIs on 127.0.0.1, to rehearse a migration."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from atoms_migrate.cli.boundary import error_boundary
from atoms_migrate.cli.options import DebugOption, SandboxVersioning
from atoms_migrate.cli.root import app
from atoms_migrate.errors import ConfigError, SourceFileError


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
            help="An account behaviour for a point the API reference leaves open (repeatable): "
            "prompt-in-global-prompt, ignore-post-call-analytics, concurrent-edit, pro-voice-model.",
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
