"""Fetch what an agent config only references: tools, voice records, knowledge-base documents.

An agent names its tools by id (``prompt.tool_ids``, elevenlabs-convai-api.md §C.2) and its
voices by id (``tts.voice_id``, ``tts.supported_voices``, §E); the mapping needs their
contents. ``gather`` reads them through the ElevenLabs client, skipping what is already
known (``--tools-dir`` configs, premade voices of the voice table), and turns a missing or
unreadable one into a note instead of a failure, so the plan reports it. An auth failure
still stops the run: every later read would fail the same way. Records fetched once are
kept in ``cache`` so a batch reads each shared tool or voice once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from atoms_migrate.errors import ApiError
from atoms_migrate.platforms.elevenlabs import ElevenLabsClient
from atoms_migrate.source.shapes import SourceAgent, reject_bad_numbers


class KnownVoices(Protocol):
    """The voices the mapping knows without reading them (the voice table's premade voices).

    A protocol, not the table's model: the source layer sits below the mapping and only asks this.
    """

    def lookup(self, voice_id: str) -> object | None: ...


@dataclass
class Cache:
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)
    voices: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    workspace_webhooks: dict[str, dict[str, Any]] | None = None  # read once per run, when an agent names one
    convai_settings: dict[str, Any] | None = None  # the workspace's convai settings, read once per run


def gather(
    agent: SourceAgent, client: ElevenLabsClient, voice_table: KnownVoices, cache: Cache | None = None
) -> SourceAgent:
    """The agent with what it references read: tools, voices, documents and its post-call webhook."""
    cache = cache if cache is not None else Cache()
    notes = list(agent.notes)
    tools, voices, documents = _referenced_records(agent, client, voice_table, cache, notes)
    agent = _with_post_call_webhook(agent, client, cache, notes)
    return replace(agent, tools=tools, voices=voices, documents=documents, notes=tuple(notes))


def _referenced_records(
    agent: SourceAgent, client: ElevenLabsClient, voice_table: KnownVoices, cache: Cache, notes: list[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """(tools, voices, documents): what the agent has, plus what it names by id and the voice table lacks."""
    tools, voices, documents = dict(agent.tools), dict(agent.voices), dict(agent.documents)
    for tool_id in dict.fromkeys(agent.tool_ids()):
        if tool_id in tools:
            continue
        record = _read(cache.tools, tool_id, client.get_tool, notes, "tool")
        if record is not None:
            tools[tool_id] = record
    for voice_id in agent.voice_ids():
        if voice_id in voices or voice_table.lookup(voice_id) is not None:
            continue
        record = _read(cache.voices, voice_id, client.get_voice, notes, "voice")
        if record is not None:
            voices[voice_id] = record
    for doc_id in dict.fromkeys(agent.document_ids()):
        record = documents.get(doc_id) or _read(
            cache.documents, doc_id, client.get_document, notes, "knowledge-base document"
        )
        if record is not None:
            documents[doc_id] = record
    return tools, voices, documents


def _with_post_call_webhook(
    agent: SourceAgent, client: ElevenLabsClient, cache: Cache, notes: list[str]
) -> SourceAgent:
    """The agent with the workspace post-call webhook that applies to it: its override's, else the workspace's."""
    webhooks = dict(agent.webhooks)
    if not agent.has_post_call_override():  # the workspace's post-call webhook applies to the agent (EL §I)
        if cache.convai_settings is None:
            try:
                cache.convai_settings = client.get_convai_settings()
            except ApiError as exc:
                if exc.status in (401, 403) or exc.status is None:
                    raise
                cache.convai_settings = {}
                notes.append(
                    f"the workspace's convai settings (its post-call webhook) could not be read: {exc.message}"
                )
        inherited = cache.convai_settings.get("webhooks")
        if isinstance(inherited, dict) and inherited.get("post_call_webhook_id"):
            agent = replace(agent, inherited_post_call=dict(inherited))
    hook_id = agent.post_call_webhook_id()
    if hook_id and hook_id not in webhooks:
        if cache.workspace_webhooks is None:
            try:
                cache.workspace_webhooks = {str(h.get("webhook_id")): h for h in client.list_workspace_webhooks()}
            except ApiError as exc:
                if exc.status in (401, 403) or exc.status is None:
                    raise
                notes.append(f"the workspace webhooks could not be read: {exc.message}")
        if cache.workspace_webhooks is not None and hook_id in cache.workspace_webhooks:
            webhooks[hook_id] = cache.workspace_webhooks[hook_id]
    return replace(agent, webhooks=webhooks)


def _read(
    cache: dict[str, dict[str, Any]], key: str, fetch: Callable[[str], Any], notes: list[str], what: str
) -> dict[str, Any] | None:
    if key in cache:
        return cache[key]
    try:
        cache[key] = reject_bad_numbers(fetch(key), f"ElevenLabs {what} {key}")
    except ApiError as exc:
        if exc.status in (401, 403) or exc.status is None:
            raise
        notes.append(f"{what} {key} could not be read: {exc.message}")
        return None
    return cache[key]
