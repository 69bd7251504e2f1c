"""The ``verify`` run: talk to the migrated agent (and the original with ``--both``) and collect the results.

The CLI resolves which agents (``apply.migrated`` finds the Atoms one and reads it live), which URLs,
which key and which script; ``run_verify`` builds the realtime sessions through injected ``Connectors``,
runs the script (or the smoke script) on each side and returns a ``VerifyResult``, whose ``to_json`` is
exactly what ``verify --json`` prints. The ElevenLabs side is read only when the Atoms conversation is
over, through an injected client factory, so a missing ElevenLabs key or id is reported after the Atoms
run, as it always was.
No terminal, no environment: progress lines go to an injected ``progress`` callback.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from atoms_migrate.errors import ConfigError
from atoms_migrate.platforms.realtime import AtomsSession, ElevenLabsSession, Turn, realtime_url
from atoms_migrate.verify.script import Script, Session, run_script, smoke_script, smoke_script_elevenlabs

ATOMS_REALTIME_PATH = "/atoms/v1/agent/connect"
ELEVENLABS_REALTIME_PATH = "/v1/convai/conversation"
FORMAT_VERSION = "1"


class AtomsConnector(Protocol):
    """Opens an Atoms realtime session (``platforms.realtime.AtomsSession`` by default)."""

    def __call__(
        self, url: str, api_key: str, agent_id: str, variables: dict[str, Any], *, turn_timeout: float
    ) -> Session: ...


class ElevenLabsConnector(Protocol):
    """Opens an ElevenLabs realtime session (``platforms.realtime.ElevenLabsSession`` by default)."""

    def __call__(
        self, url: str, agent_id: str, variables: dict[str, Any], *, signed_url: str | None, turn_timeout: float
    ) -> Session: ...


class ElevenLabsReader(Protocol):
    """The two reads ``--both`` needs from the ElevenLabs API (``ElevenLabsClient`` has them)."""

    def get_agent(self, agent_id: str) -> dict[str, Any]: ...
    def get_signed_url(self, agent_id: str) -> str: ...


def _atoms_session(url: str, api_key: str, agent_id: str, variables: dict[str, Any], *, turn_timeout: float) -> Session:
    return AtomsSession(url, api_key, agent_id, variables, turn_timeout=turn_timeout)


def _elevenlabs_session(
    url: str, agent_id: str, variables: dict[str, Any], *, signed_url: str | None, turn_timeout: float
) -> Session:
    return ElevenLabsSession(url, agent_id, variables, signed_url=signed_url, turn_timeout=turn_timeout)


@dataclass(frozen=True)
class Connectors:
    """How sessions are opened: the realtime WebSocket clients, or fakes in tests."""

    atoms: AtomsConnector = _atoms_session
    elevenlabs: ElevenLabsConnector = _elevenlabs_session


@dataclass(frozen=True)
class AtomsTarget:
    """The migrated agent: its id, its live config (first message, speaking order, tools) and where to reach it."""

    agent_id: str
    live: dict[str, Any]
    api_key: str
    host: str  # the Atoms API host; its realtime URL is derived unless ``realtime_url`` is given
    realtime_url: str | None = None

    def url(self) -> str:
        return self.realtime_url or realtime_url(self.host, ATOMS_REALTIME_PATH)


@dataclass(frozen=True)
class ElevenLabsTarget:
    """The original agent for ``--both``; ``agent_id`` is None when SOURCE does not say it."""

    source: str  # SOURCE as the user wrote it, for the message when the id is unknown
    agent_id: str | None
    client: Callable[[], AbstractContextManager[ElevenLabsReader]]  # opened only after the Atoms run
    base_url: str  # the ElevenLabs API host; its realtime URL is derived unless ``realtime_url`` is given
    realtime_url: str | None = None

    def url(self) -> str:
        return self.realtime_url or realtime_url(self.base_url, ELEVENLABS_REALTIME_PATH)


@dataclass(frozen=True)
class Limits:
    turn_timeout: float = 20.0  # seconds to wait for each reply
    session_timeout: float = 120.0  # seconds a whole conversation may take


@dataclass(frozen=True)
class PlatformRun:
    """One side's conversation: every turn with the failures of its expectation."""

    platform: str  # "atoms" or "elevenlabs"
    agent_id: str
    results: list[tuple[Turn, list[str]]]

    @property
    def opening(self) -> str | None:
        """The agent's first turn (the one no user turn prompted), when the script read it."""
        return next((turn.reply for turn, _ in self.results if turn.user is None), None)

    @property
    def passed(self) -> bool:
        return not any(failures for _, failures in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent_id,
            "platform": self.platform,
            "opening": self.opening,
            "turns": [
                {**turn.to_dict(), "failures": failures, "passed": not failures} for turn, failures in self.results
            ],
        }


@dataclass(frozen=True)
class VerifyResult:
    script: str  # the name of the script run on the Atoms side
    runs: list[PlatformRun] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(run.passed for run in self.runs)

    @property
    def turns(self) -> int:
        return sum(len(run.results) for run in self.runs)

    @property
    def failed(self) -> int:
        return sum(bool(failures) for run in self.runs for _, failures in run.results)

    def to_json(self) -> dict[str, Any]:
        """The document ``verify --json`` prints (format_version 1)."""
        return {
            "format_version": FORMAT_VERSION,
            "script": self.script,
            "runs": [run.to_json() for run in self.runs],
            "passed": self.passed,
        }


def _quiet(message: str) -> None:
    """The default progress callback: says nothing."""


def run_verify(
    atoms: AtomsTarget,
    script: Script | None,
    variables: dict[str, Any],
    *,
    elevenlabs: ElevenLabsTarget | None = None,
    limits: Limits = Limits(),
    connectors: Connectors = Connectors(),
    clock: Callable[[], float] = time.monotonic,
    progress: Callable[[str], None] = _quiet,
) -> VerifyResult:
    """Run SCRIPT (default: the smoke script of each side) against Atoms, then against ElevenLabs when given.

    ``variables`` (``--var``) override the script's own; both sides get the merged set.
    """
    merged = {**(script.variables if script else {}), **variables}
    atoms_script = script or smoke_script(atoms.live, merged)
    url = atoms.url()
    progress(
        f"Talking to Atoms agent {atoms.agent_id} ({atoms_script.name} script, {len(atoms_script.turns)} turn(s))…"
    )
    session = connectors.atoms(url, atoms.api_key, atoms.agent_id, merged, turn_timeout=limits.turn_timeout)
    runs = [PlatformRun("atoms", atoms.agent_id, run_script(session, atoms_script, limits.session_timeout, clock))]
    if elevenlabs is not None:
        runs.append(_run_elevenlabs(elevenlabs, script, merged, limits, connectors, clock, progress))
    return VerifyResult(atoms_script.name, runs)


def _run_elevenlabs(
    target: ElevenLabsTarget,
    script: Script | None,
    variables: dict[str, Any],
    limits: Limits,
    connectors: Connectors,
    clock: Callable[[], float],
    progress: Callable[[str], None],
) -> PlatformRun:
    agent_id = target.agent_id
    if not agent_id:
        raise ConfigError(
            f"{target.source} does not say its ElevenLabs agent id, so --both cannot reach it",
            "Pass the ElevenLabs agent id as SOURCE.",
        )
    with target.client() as client:
        config = client.get_agent(agent_id)
        private = bool(((config.get("platform_settings") or {}).get("auth") or {}).get("enable_auth"))
        signed = client.get_signed_url(agent_id) if private else None
    url = target.url()
    el_script = script or smoke_script_elevenlabs(config, variables)
    progress(f"Talking to ElevenLabs agent {agent_id}{' (signed URL)' if signed else ''}…")
    session = connectors.elevenlabs(url, agent_id, variables, signed_url=signed, turn_timeout=limits.turn_timeout)
    return PlatformRun("elevenlabs", agent_id, run_script(session, el_script, limits.session_timeout, clock))
