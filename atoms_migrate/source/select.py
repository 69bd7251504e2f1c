"""Which agents a batch migrates, and running per-agent work on a bounded pool.

Sources (``enumerate_*``): every agent of the ElevenLabs account (cursor pagination of
``GET /v1/convai/agents``, elevenlabs-convai-api.md §B), every agent file of a directory
(its top level, and ``agent_configs/``; a file that is not an agent is skipped and said), or
an ElevenLabs CLI project (``agents.json`` naming ``agent_configs/`` files and their agent
ids, §H.2). Filters: ``--only`` / ``--exclude`` (ids, keys or file names), ``--tag``,
``--search`` (name substring). ``shard`` gives slice I of N by a stable hash of the key, so
a CI matrix splits an account the same way on every run and an added agent does not move
the others. ``run_pool`` runs a function per item on N threads and isolates failures: one
agent's exception is its own outcome and the others go on.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from atoms_migrate.errors import ConfigError
from atoms_migrate.platforms.elevenlabs import ElevenLabsClient

T = TypeVar("T")
R = TypeVar("R")
AGENT_SUFFIXES = (".json", ".yaml", ".yml")
AGENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{2,127}$")  # what an ElevenLabs agent id given as SOURCE looks like


@dataclass(frozen=True)
class SourceSpec:
    """One agent to migrate, before it is read."""

    ref: str  # an ElevenLabs agent id, or a file path
    kind: str  # "id" | "file"
    name: str = ""
    tags: tuple[str, ...] = ()
    agent_id: str | None = None  # known id of a file's agent (CLI project registry)

    @property
    def key(self) -> str:
        """The state key the source will have (agent id, else file:<path>), for sharding and filters."""
        return self.agent_id or (self.ref if self.kind == "id" else "file:" + Path(self.ref).as_posix())


def enumerate_account(client: ElevenLabsClient, search: str | None = None, page_size: int = 100) -> list[SourceSpec]:
    specs: list[SourceSpec] = []
    cursor: str | None = None
    while True:
        page = client.list_agents(cursor=cursor, page_size=page_size, search=search)
        for agent in page.get("agents") or []:
            if isinstance(agent, dict) and agent.get("agent_id") and not agent.get("archived"):
                specs.append(
                    SourceSpec(
                        str(agent["agent_id"]),
                        "id",
                        str(agent.get("name") or ""),
                        tuple(str(t) for t in agent.get("tags") or []),
                    )
                )
        cursor = page.get("next_cursor")
        if not page.get("has_more") or not cursor:
            return specs


def enumerate_directory(directory: Path) -> tuple[list[SourceSpec], list[str]]:
    """(agents, notes) of a folder: a CLI project's registry when present, else every agent-looking file."""
    registry = directory / "agents.json"
    if registry.is_file():
        return _cli_project(directory, registry)
    specs, notes = [], []
    # The folder itself, and agent_configs/ of a CLI project without its registry; not deeper.
    candidates = [p for folder in (directory, directory / "agent_configs") if folder.is_dir() for p in folder.iterdir()]
    for path in sorted(
        p for p in candidates if p.suffix.lower() in AGENT_SUFFIXES and p.is_file() and not p.name.startswith(".")
    ):
        if path.name in ("tools.json", "tests.json", "index.json", "package.json", "tsconfig.json"):
            notes.append(f"{path}: skipped (not an agent config by name)")
            continue
        specs.append(SourceSpec(str(path), "file", path.stem))
    return specs, notes


def _cli_project(directory: Path, registry: Path) -> tuple[list[SourceSpec], list[str]]:
    try:
        data = json.loads(registry.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{registry}: cannot be read as an ElevenLabs CLI registry: {exc}") from exc
    specs, notes = [], []
    for entry in data.get("agents") or [] if isinstance(data, dict) else []:
        config = entry.get("config") if isinstance(entry, dict) else None
        if not isinstance(config, str):
            notes.append(f"{registry}: an entry without a config path was skipped")
            continue
        path = directory / config
        if not path.is_file():
            notes.append(f"{registry}: {config} does not exist; skipped")
            continue
        specs.append(
            SourceSpec(
                str(path), "file", path.stem, agent_id=entry.get("id") if isinstance(entry.get("id"), str) else None
            )
        )
    return specs, notes


def select(
    specs: Iterable[SourceSpec],
    only: Iterable[str] = (),
    exclude: Iterable[str] = (),
    tags: Iterable[str] = (),
    search: str | None = None,
) -> list[SourceSpec]:
    """Filter by ids/keys/file names (``only``, ``exclude``), any of ``tags``, and a name substring."""
    only_set, exclude_set, tag_set = set(only), set(exclude), set(tags)

    def names(spec: SourceSpec) -> set[str]:
        return {spec.ref, spec.key, Path(spec.ref).name, Path(spec.ref).stem} | (
            {spec.agent_id} if spec.agent_id else set()
        )

    out = []
    for spec in specs:
        if only_set and not names(spec) & only_set:
            continue
        if names(spec) & exclude_set:
            continue
        if tag_set and not tag_set & set(spec.tags):
            continue
        if search and search.lower() not in spec.name.lower():
            continue
        out.append(spec)
    return out


def parse_shard(text: str) -> tuple[int, int]:
    """``I/N`` with 1 <= I <= N."""
    try:
        index, count = (int(x) for x in text.split("/", 1))
    except ValueError:
        raise ConfigError(
            f"--shard {text!r} is not I/N", "Example: --shard 2/4 runs the second of four slices."
        ) from None
    if not 1 <= index <= count:
        raise ConfigError(f"--shard {text!r}: I must be between 1 and N")
    return index, count


def shard(specs: Iterable[SourceSpec], index: int, count: int) -> list[SourceSpec]:
    """Slice ``index`` of ``count`` by a stable hash of each key (not by position)."""

    def slot(spec: SourceSpec) -> int:
        return int(hashlib.sha256(spec.key.encode("utf-8")).hexdigest(), 16) % count

    return [s for s in specs if slot(s) == index - 1]


@dataclass
class PoolResult:
    item: Any
    value: Any = None
    error: BaseException | None = None


def run_pool(
    items: list[T], work: Callable[[T], R], concurrency: int, on_done: Callable[[PoolResult], None] = lambda r: None
) -> list[PoolResult]:
    """``work`` on every item with at most ``concurrency`` at once; results in input order.

    An exception is that item's result; KeyboardInterrupt still stops the whole run.
    """
    results: dict[int, PoolResult] = {}
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="agent") as pool:
        futures = {pool.submit(work, item): i for i, item in enumerate(items)}
        try:
            for future in as_completed(futures):
                i = futures[future]
                try:
                    result = PoolResult(items[i], future.result())
                except Exception as exc:  # isolation: one agent's failure is its own result
                    result = PoolResult(items[i], error=exc)
                results[i] = result
                on_done(result)
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            raise
    return [results[i] for i in range(len(items))]


def suffixed(name: str, n: int) -> str:
    """Atoms' own form of a duplicate name (§K.5): ``Support`` -> ``Support (2)``."""
    return f"{name} ({n})"


def is_suffixed(live: str, planned: str) -> bool:
    """Whether ``live`` is ``planned`` with the suffix Atoms adds to a duplicate name (§K.5)."""
    return live.startswith(planned + " (") and live.endswith(")") and live[len(planned) + 2 : -1].isdigit()


def plan_names(sources: Iterable[tuple[str, str, str | None]]) -> dict[str, str]:
    """Atoms name per source key, decided up front for a batch (pure).

    ``sources`` are (key, source name, Atoms name recorded for it). A recorded name is kept;
    two sources with the same name (prod and dev copies) are kept apart by Atoms' own suffix
    form, given in key order, so every run decides the same and nothing is renamed back.
    """
    items = sorted(sources)
    taken = {recorded for _, _, recorded in items if recorded}
    out: dict[str, str] = {key: recorded for key, _, recorded in items if recorded}
    for key, name, recorded in items:
        if recorded:
            continue
        chosen, n = name, 2
        while chosen in taken:
            chosen, n = suffixed(name, n), n + 1
        taken.add(chosen)
        out[key] = chosen
    return out
