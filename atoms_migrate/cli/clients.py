"""The vendor clients, built from ``Settings`` and the base-URL options: the only place API keys become headers.

The clients themselves (``platforms/``) never read the environment; here they get their key, host, timeouts, the
redirect cap and the per-request deadline, and a batch's shared request gate.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal, overload

from atoms_migrate import __version__
from atoms_migrate.errors import ConfigError
from atoms_migrate.settings import ELEVENLABS_API_KEY, SMALLEST_API_KEY, Settings

if TYPE_CHECKING:  # httpx and the clients are imported when a client is built, so `--help` stays fast
    from atoms_migrate.platforms.elevenlabs import ElevenLabsClient
    from atoms_migrate.platforms.ratelimit import RequestGate
    from atoms_migrate.platforms.smallest import AtomsClient

MAX_REDIRECTS = 5  # a redirect loop stops here with a clear message instead of after httpx's 20
REQUEST_DEADLINE = (
    120.0  # seconds for one whole request, body included (deadline.py): a dripping server cannot hold a run
)


def elevenlabs_client(base_url: str | None, gate: RequestGate | None = None, *, settings: Settings) -> ElevenLabsClient:
    import httpx

    from atoms_migrate.platforms.deadline import DeadlineTransport
    from atoms_migrate.platforms.elevenlabs import DEFAULT_BASE_URL, ElevenLabsClient

    key = settings.api_key(ELEVENLABS_API_KEY)
    if not key:
        raise ConfigError(
            "ELEVENLABS_API_KEY is not set, so the agent cannot be read from ElevenLabs",
            "Export ELEVENLABS_API_KEY, or pass an exported agent config file instead of an id.",
        )
    base = (base_url or settings.elevenlabs_base_url or DEFAULT_BASE_URL).rstrip("/")
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


@overload
def atoms_client(
    base_url: str | None, required: Literal[True], gate: RequestGate | None = None, *, settings: Settings
) -> AtomsClient: ...


@overload
def atoms_client(
    base_url: str | None, required: bool, gate: RequestGate | None = None, *, settings: Settings
) -> AtomsClient | None: ...


def atoms_client(
    base_url: str | None, required: bool, gate: RequestGate | None = None, *, settings: Settings
) -> AtomsClient | None:
    """The Atoms client, or None when no key is set and none is required (a dry run plans a create)."""
    import httpx

    from atoms_migrate.platforms.deadline import DeadlineTransport
    from atoms_migrate.platforms.smallest import AtomsClient, atoms_base_urls

    key = settings.api_key(SMALLEST_API_KEY)
    if not key:
        if not required:
            return None
        raise ConfigError(
            "SMALLEST_API_KEY is not set, so nothing can be written to Smallest Atoms",
            "Export SMALLEST_API_KEY (or run `atoms-migrate sandbox` to rehearse), or use --dry-run.",
        )
    host, _, _ = atoms_base_urls(base_url or settings.smallest_base_url)
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


def required_atoms_client(base_url: str | None, gate: RequestGate | None = None, *, settings: Settings) -> AtomsClient:
    """The Atoms client of a command that writes: without SMALLEST_API_KEY, a ConfigError saying so."""
    return atoms_client(base_url, True, gate, settings=settings)


@contextmanager
def elevenlabs_for_apply(
    base_url: str | None, gate: RequestGate | None = None, *, settings: Settings
) -> Iterator[ElevenLabsClient | None]:
    """The ElevenLabs client when a key is set (resources read their content from it), else None; closed after."""
    if not settings.has_key(ELEVENLABS_API_KEY):
        yield None
        return
    client = elevenlabs_client(base_url, gate, settings=settings)
    try:
        yield client
    finally:
        client.http.close()
        if client.downloads is not None:
            client.downloads.close()


def request_gates(max_rps: float | None) -> tuple[RequestGate, RequestGate]:
    """(Atoms gate capped at ``max_rps``, ElevenLabs gate): every worker of a batch shares them."""
    from atoms_migrate.platforms.ratelimit import RequestGate

    return RequestGate(max_rps), RequestGate(None)
