"""Recognise an ElevenLabs agent config in any known shape and normalise it.

Real exports come as a ``GET /v1/convai/agents/{id}`` response, an ElevenLabs CLI
``agent_configs/*.json`` file, a create-request body, the JS SDK's camelCase
serialisation, or the flattened legacy shape (``asr``/``tts``/``turn``/``agent`` at the
top). ``normalise`` turns all of them into the canonical snake_case layout of the API
response (elevenlabs-convai-api.md §A, §H.2) and keeps the raw value beside it. Files that
are not agent configs at all raise ``NotAnAgentConfig`` with one line saying what was
expected. Reading bytes from disk lives in ``read_config_file``; everything else is pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from atoms_migrate.bounds import MAX_DEPTH, MAX_ID_LENGTH, MAX_NAME_LENGTH, InputTooLarge, check_file, check_value
from atoms_migrate.errors import NotAnAgentConfig, SourceFileError

# Keys of conversation_config; at the top level of a file they mark the flattened legacy shape.
CONVERSATION_SECTIONS = ("asr", "turn", "tts", "conversation", "language_presets", "vad", "agent")
# Maps whose keys are user data (names, ids, header names): never case-converted.
_OPAQUE_MAPS = frozenset(
    {
        "dynamic_variable_placeholders",
        "data_collection",
        "data_collection_scopes",
        "request_headers",
        "headers",
        "properties",
        "path_params_schema",
        "language_presets",
        "procedures",
        "nodes",
        "edges",
        "text_contents",
    }
)
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
_ID_SAFE = re.compile(r"^[A-Za-z0-9_\-]+$")
_ENV_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class SourceAgent:
    """One ElevenLabs agent, as read: canonical config, raw value, and where it came from."""

    config: dict[str, Any]
    raw: Any
    label: str
    shape: str
    agent_id: str | None = None
    path: str | None = None
    notes: tuple[str, ...] = ()
    # tool_id -> tool record (``{"id", "tool_config"}`` or a bare tool_config), fetched or from --tools-dir
    tools: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    # voice_id -> ElevenLabs voice record (GET /v1/voices/{id}), fetched for voices outside the premade table
    voices: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    # document id -> ElevenLabs knowledge-base document (GET /v1/convai/knowledge-base/{id}), fetched
    documents: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    # The file's identity (identity.file_key) and the keys earlier versions gave it (identity.legacy_keys)
    identity: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def name(self) -> str | None:
        name = self.config.get("name")
        return name if isinstance(name, str) and name.strip() else None

    @property
    def key(self) -> str:
        """Stable identity across runs: the ElevenLabs agent id, else the file path (state and marker)."""
        if self.agent_id:
            return self.agent_id
        if self.identity:
            return self.identity
        return "file:" + Path(self.path).as_posix() if self.path else f"label:{self.label}"

    @property
    def keys(self) -> tuple[str, ...]:
        """The key, then older keys of the same source that state entries and markers may still carry."""
        return tuple(dict.fromkeys((self.key, *self.aliases)))

    def voice_ids(self) -> list[str]:
        """Every ElevenLabs voice the agent uses (``voice_roles``), de-duplicated."""
        return list(dict.fromkeys(voice_id for _, voice_id in voice_roles(self.config)))

    def document_ids(self) -> list[str]:
        docs = self.config.get("conversation_config", {}).get("agent", {}).get("prompt", {}).get("knowledge_base")
        return [d["id"] for d in docs if isinstance(d, dict) and isinstance(d.get("id"), str)] if isinstance(docs, list) else []

    def tool_ids(self) -> list[str]:
        ids = self.config.get("conversation_config", {}).get("agent", {}).get("prompt", {}).get("tool_ids")
        return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


def voice_roles(config: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, ElevenLabs voice id) for every voice an agent uses: main, per-language, per-preset."""
    cc = config.get("conversation_config") if isinstance(config.get("conversation_config"), dict) else {}
    tts = cc.get("tts") if isinstance(cc.get("tts"), dict) else {}
    out: list[tuple[str, str]] = []
    if isinstance(tts.get("voice_id"), str) and tts["voice_id"]:
        out.append(("main", tts["voice_id"]))
    for item in tts.get("supported_voices") or []:
        if isinstance(item, dict) and isinstance(item.get("voice_id"), str):
            out.append((f"supported voice {item.get('label') or item.get('language') or ''}".strip(), item["voice_id"]))
    presets = cc.get("language_presets") if isinstance(cc.get("language_presets"), dict) else {}
    for code, preset in presets.items():
        voice_id = (((preset or {}).get("overrides") or {}).get("tts") or {}).get("voice_id") if isinstance(preset, dict) else None
        if isinstance(voice_id, str) and voice_id:
            out.append((f"language preset {code}", voice_id))
    return out


def snake_case(key: str) -> str:
    return _CAMEL.sub(lambda m: "_" + m.group(1).lower(), key)


def _to_snake(value: Any, opaque: bool = False) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            new_key = k if opaque or not isinstance(k, str) else snake_case(k)
            out[new_key] = _to_snake(v, opaque=new_key in _OPAQUE_MAPS)
        return out
    if isinstance(value, list):
        return [_to_snake(v) for v in value]
    return value


def _has_camel_keys(data: dict[str, Any]) -> bool:
    markers = ("conversationConfig", "platformSettings", "agentId", "firstMessage", "voiceId")
    if any(k in data for k in markers):
        return True
    cc = data.get("conversation_config")
    return isinstance(cc, dict) and any(isinstance(k, str) and _CAMEL.search(k) for k in cc)


def _looks_like_workflow(data: dict[str, Any]) -> bool:
    return "nodes" in data and "edges" in data and "conversation_config" not in data


def _expected() -> str:
    return (
        "expected an ElevenLabs agent config: a GET /v1/convai/agents/{id} response, an ElevenLabs CLI "
        "agent_configs/*.json file or a create-agent body, with conversation_config.agent.prompt.prompt"
    )


def _is_agent_section(agent: Any) -> bool:
    """The minimum that makes a config an agent: a prompt object or a first message."""
    if not isinstance(agent, dict):
        return False
    prompt = agent.get("prompt")
    has_prompt = isinstance(prompt, dict) and isinstance(prompt.get("prompt"), str)
    return has_prompt or isinstance(agent.get("first_message"), str)


def normalise(raw: Any, label: str, *, path: str | None = None) -> SourceAgent:
    """Turn a parsed file or API response into a ``SourceAgent`` (pure)."""
    if isinstance(raw, list):
        raise NotAnAgentConfig(
            f"{label}: holds a list of {len(raw)} items, not one agent config",
            "Pass one agent file; whole accounts and folders are migrated with `atoms-migrate all`.",
        )
    if not isinstance(raw, dict):
        raise NotAnAgentConfig(f"{label}: holds a {type(raw).__name__}, not an object; {_expected()}")
    notes: list[str] = []
    data: dict[str, Any] = raw
    if _has_camel_keys(data):
        data = _to_snake(data)
        notes.append("camelCase keys (JS SDK serialisation) converted to snake_case")
    if isinstance(data.get("agents"), list) and "conversation_config" not in data:
        raise NotAnAgentConfig(
            f"{label}: is an ElevenLabs CLI registry (agents.json), not an agent config",
            "Pass one of its agent_configs/*.json files, or the folder to `atoms-migrate all`.",
        )
    if _looks_like_workflow(data):
        raise NotAnAgentConfig(
            f"{label}: is an ElevenLabs workflow graph (nodes/edges), not an agent config",
            "Pass the agent config; its workflow is read from the agent's `workflow` key.",
        )
    if "conversation_config" in data:
        shape = "api-response" if ("agent_id" in data or "metadata" in data) else (
            "cli-config" if ("platform_settings" in data or "tags" in data) else "create-body"
        )
    elif isinstance(data.get("agent"), dict) and any(k in data for k in CONVERSATION_SECTIONS):
        moved = [k for k in CONVERSATION_SECTIONS if k in data]
        data = {k: v for k, v in data.items() if k not in CONVERSATION_SECTIONS} | {
            "conversation_config": {k: data[k] for k in moved}
        }
        shape = "flattened-legacy"
        notes.append(f"flattened legacy shape: {', '.join(moved)} read as conversation_config.*")
    else:
        keys = ", ".join(list(map(str, data))[:8]) or "none"
        raise NotAnAgentConfig(f"{label}: not an ElevenLabs agent config (top-level keys: {keys}); {_expected()}")
    cc = data.get("conversation_config")
    if not isinstance(cc, dict) or not _is_agent_section(cc.get("agent")):
        agent = cc.get("agent") if isinstance(cc, dict) else None
        found = ", ".join(map(str, agent)) if isinstance(agent, dict) and agent else "nothing"
        raise NotAnAgentConfig(
            f"{label}: not an ElevenLabs agent config: conversation_config.agent has no prompt or first message "
            f"(found: {found[:120]}); {_expected()}",
            "A hand-written format of your own must be turned into an ElevenLabs config first.",
        )
    agent_id = data.get("agent_id") if isinstance(data.get("agent_id"), str) and data.get("agent_id") else None
    if agent_id is not None and (len(agent_id) > MAX_ID_LENGTH or not _ID_SAFE.match(agent_id)):
        raise SourceFileError(
            f"{label}: agent_id is not an ElevenLabs id ({len(agent_id):,} characters"
            f"{'' if _ID_SAFE.match(agent_id) else ', with characters ids never have'}); it would become the agent's identity",
            f"Fix or remove agent_id (ids are letters, digits, '_' and '-', at most {MAX_ID_LENGTH} characters).")
    name = data.get("name")
    if isinstance(name, str) and len(name) > MAX_NAME_LENGTH:
        # The Atoms reference documents no limit for agent names; a name this long is a broken export, not a name.
        raise SourceFileError(f"{label}: the agent name is {len(name):,} characters; at most {MAX_NAME_LENGTH:,} are accepted",
                              "Shorten the name in the file (it becomes the Atoms agent's name and is shown in every report).")
    return SourceAgent(config=data, raw=raw, label=label, shape=shape, agent_id=agent_id, path=path, notes=tuple(notes))


def env_placeholders(text: str) -> list[str]:
    return _ENV_PLACEHOLDER.findall(text)


def parse_config_text(text: str, label: str, suffix: str = "") -> Any:
    """Parse JSON or YAML text; malformed or unbounded input raises ``SourceFileError`` naming the spot."""
    value = _parse(text, label, suffix)
    try:
        check_value(value)
    except InputTooLarge as exc:
        raise SourceFileError(f"{label}: {exc}", "Fix the file, or export the agent again.") from None
    return value


def _parse(text: str, label: str, suffix: str) -> Any:
    if suffix.lower() in (".yaml", ".yml"):
        return _parse_yaml(text, label)
    try:
        # strict=False: exports sometimes carry raw control characters inside strings.
        return json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        if suffix.lower() == ".json":
            raise SourceFileError(
                f"{label}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                "Fix the file, or export the agent again.",
            ) from exc
    except RecursionError:
        raise SourceFileError(f"{label}: is nested deeper than {MAX_DEPTH} levels",
                              "Fix the file, or export the agent again.") from None
    except ValueError as exc:  # e.g. an integer beyond Python's 4,300-digit conversion limit
        raise SourceFileError(f"{label}: not a usable JSON value: {str(exc).splitlines()[0][:160]}",
                              "Fix the file, or export the agent again.") from None
    return _parse_yaml(text, label)


def _parse_yaml(text: str, label: str) -> Any:
    try:
        return yaml.safe_load(text)
    except RecursionError:
        raise SourceFileError(f"{label}: is nested deeper than {MAX_DEPTH} levels",
                              "Fix the file, or export the agent again.") from None
    except ValueError as exc:  # an integer beyond Python's digit limit, a bad timestamp
        raise SourceFileError(f"{label}: not a usable YAML value: {str(exc).splitlines()[0][:160]}",
                              "Fix the file, or export the agent again.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SourceFileError(f"{label}: malformed YAML{where}: {problem}", "Fix the file, or export the agent again.") from exc


def read_config_file(path: Path) -> Any:
    """Read and parse one JSON/YAML file (the only disk I/O for source configs)."""
    try:
        check_file(path)  # before opening: a FIFO would block, /dev/zero would never end
        data = path.read_bytes()
    except InputTooLarge as exc:
        raise SourceFileError(f"{path}: {exc}", "Pass an exported agent config file (JSON or YAML).") from None
    except FileNotFoundError as exc:
        raise SourceFileError(f"{path}: no such file", "Pass an existing file or an ElevenLabs agent id.") from exc
    except IsADirectoryError as exc:
        raise SourceFileError(f"{path}: is a directory", "Pass one agent file; folders go to `atoms-migrate all`.") from exc
    except OSError as exc:
        raise SourceFileError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceFileError(f"{path}: not UTF-8 text (byte {exc.start})", "Save the file as UTF-8.") from exc
    if not text.strip():
        raise SourceFileError(f"{path}: is empty", "Export the agent again.")
    return parse_config_text(text, str(path), path.suffix)


def load_tools_dir(directory: Path) -> dict[str, dict[str, Any]]:
    """Tool records for ``tool_ids`` resolved offline (``--tools-dir``).

    Understands an ElevenLabs CLI project (``tools.json`` registry of ``{id, config}``
    pointing at ``tool_configs/*.json``), tool records that carry ``id`` and
    ``tool_config`` (API responses), and files named after the tool id.
    """
    if not directory.is_dir():
        raise SourceFileError(f"{directory}: not a directory", "--tools-dir takes a folder of tool configs.")
    tools: dict[str, dict[str, Any]] = {}
    registry = directory / "tools.json"
    if registry.is_file():
        entries = read_config_file(registry)
        for entry in (entries or {}).get("tools", []) if isinstance(entries, dict) else []:
            if isinstance(entry, dict) and isinstance(entry.get("id"), str) and isinstance(entry.get("config"), str):
                config_path = (directory / entry["config"]).resolve()
                if config_path.is_file():
                    tools[entry["id"]] = read_config_file(config_path)
    for file in sorted([*directory.glob("*.json"), *directory.glob("*.yaml"), *directory.glob("*.yml"),
                        *directory.glob("tool_configs/*.json")]):
        if file.name == "tools.json":
            continue
        record = read_config_file(file)
        if not isinstance(record, dict):
            continue
        if isinstance(record.get("id"), str) and isinstance(record.get("tool_config"), dict):
            tools.setdefault(record["id"], record)
        elif file.stem.startswith("tool_"):
            tools.setdefault(file.stem, record)
    return tools
