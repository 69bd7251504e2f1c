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

import copy
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from atoms_migrate import paths
from atoms_migrate.errors import NotAnAgentConfig, SourceFileError
from atoms_migrate.source.bounds import (
    MAX_DEPTH,
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    InputTooLarge,
    check_file,
    check_value,
)

# Keys of conversation_config; at the top level of a file they mark the flattened legacy shape.
CONVERSATION_SECTIONS = ("asr", "turn", "tts", "conversation", "language_presets", "vad", "agent")
# Keys of platform_settings (EL §A.9) that the flattened shape keeps at the top level too.
PLATFORM_SECTIONS = (
    "evaluation",
    "data_collection",
    "data_collection_scopes",
    "analysis_items",
    "overrides",
    "workspace_overrides",
    "guardrails",
    "summary_language",
    "auth",
    "call_limits",
    "queueing_config",
    "privacy",
    "widget",
    "safety",
    "testing",
    "alerting",
)
# Keys of conversation_config.agent.prompt (EL §A.8.1) that the flattened shape puts on `agent`.
PROMPT_KEYS = (
    "llm",
    "temperature",
    "max_tokens",
    "tool_ids",
    "built_in_tools",
    "knowledge_base",
    "custom_llm",
    "rag",
    "timezone",
    "tools",
    "reasoning_effort",
    "thinking_budget",
    "ignore_default_personality",
    "backup_llm_config",
    "cascade_timeout_seconds",
    "mcp_server_ids",
    "native_mcp_server_ids",
    "enable_parallel_tool_calls",
)
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
# Keys ElevenLabs knows in ``conversation_config.agent`` (EL §A.8): a flattened file whose
# ``agent`` has no ``prompt`` object but keys outside this set is a format of its own. Prompt
# keys (EL §A.8.1) are tolerated there: old exports put ``llm`` beside ``first_message``.
_AGENT_KEYS = frozenset(
    {
        "first_message",
        "language",
        "hinglish_mode",
        "dynamic_variables",
        "disable_first_message_interruptions",
        "max_conversation_duration_message",
        "text_behavior_overrides",
        "prompt",
        "name",
        *PROMPT_KEYS,
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
    # webhook id -> ElevenLabs workspace webhook (GET /v1/workspace/webhooks), read for the post-call webhook
    webhooks: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    # The workspace's post-call webhook settings (GET /v1/convai/settings ``webhooks``), when the agent has no override
    inherited_post_call: Mapping[str, Any] = field(default_factory=dict)

    def has_post_call_override(self) -> bool:
        overrides = (self.config.get("platform_settings") or {}).get("workspace_overrides")
        return isinstance(overrides, dict) and overrides.get("webhooks") is not None

    def post_call_webhook_id(self) -> str | None:
        """The post-call webhook the agent posts to: its override, else the workspace's (when read)."""
        hooks = ((self.config.get("platform_settings") or {}).get("workspace_overrides") or {}).get("webhooks")
        if not self.has_post_call_override():
            hooks = self.inherited_post_call
        hook_id = hooks.get("post_call_webhook_id") if isinstance(hooks, dict) else None
        return hook_id if isinstance(hook_id, str) and hook_id else None

    # Where a subtree of ``config`` was in the file when normalising moved it: (normalised path, path in the file)
    moves: tuple[tuple[str, str], ...] = ()
    camel_case: bool = False  # the file's keys were camelCase (JS SDK)

    def user_path(self, path: str) -> str:
        """A path of the normalised layout as it reads in the file the user gave (``normalised`` for reports).

        camelCase keys come back as written (``conversationConfig.asr.quality``), moved
        subtrees of the flattened shape at their place in the file (``asr.quality``). A path
        that is absent from the file (a defaulted field) is written in the file's convention.
        """
        if not path or (not self.camel_case and self.shape != "flattened-legacy"):
            return path
        segments = paths.parse_path(path)
        prefix: tuple[Any, ...] = ()
        rest = segments
        for new, old in sorted(self.moves, key=lambda m: -len(paths.parse_path(m[0]))):
            head = paths.parse_path(new)
            if segments[: len(head)] == head:
                prefix, rest = paths.parse_path(old), segments[len(head) :]
                break
        else:
            if (
                self.shape == "flattened-legacy"
                and len(segments) > 1
                and (
                    (segments[0] == "conversation_config" and segments[1] in CONVERSATION_SECTIONS)
                    or (segments[0] == "platform_settings" and segments[1] in PLATFORM_SECTIONS)
                )
            ):
                rest = segments[1:]  # absent from the file: where the flattened shape would keep it
        out = list(prefix)
        node = paths.get(self.raw, prefix) if prefix else self.raw
        for seg in rest:
            if node is not None and not isinstance(node, (dict, list)):
                break  # derived from this value of the file (a language code in a list): it is the place to point at
            if isinstance(seg, int) or not isinstance(node, dict):
                out.append(seg if isinstance(seg, int) or not self.camel_case else _camel(seg))
                node = node[seg] if isinstance(seg, int) and isinstance(node, list) and seg < len(node) else None
                continue
            key = seg if seg in node else next((k for k in node if isinstance(k, str) and snake_case(k) == seg), None)
            if key is None:
                out.append(_camel(seg) if self.camel_case else seg)
                node = None
            else:
                out.append(key)
                node = node[key]
        return paths.format_path(tuple(out))

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
        return (
            [d["id"] for d in docs if isinstance(d, dict) and isinstance(d.get("id"), str)]
            if isinstance(docs, list)
            else []
        )

    def tool_ids(self) -> list[str]:
        ids = self.config.get("conversation_config", {}).get("agent", {}).get("prompt", {}).get("tool_ids")
        return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


def voice_roles(config: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, ElevenLabs voice id) for every voice an agent uses: main, per-language, per-preset."""
    cc = paths.as_dict(config.get("conversation_config"))
    tts = paths.as_dict(cc.get("tts"))
    out: list[tuple[str, str]] = []
    if isinstance(tts.get("voice_id"), str) and tts["voice_id"]:
        out.append(("main", tts["voice_id"]))
    for item in tts.get("supported_voices") or []:
        if isinstance(item, dict) and isinstance(item.get("voice_id"), str):
            out.append((f"supported voice {item.get('label') or item.get('language') or ''}".strip(), item["voice_id"]))
    presets = paths.as_dict(cc.get("language_presets"))
    for code, preset in presets.items():
        voice_id = (
            (((preset or {}).get("overrides") or {}).get("tts") or {}).get("voice_id")
            if isinstance(preset, dict)
            else None
        )
        if isinstance(voice_id, str) and voice_id:
            out.append((f"language preset {code}", voice_id))
    return out


def _camel(key: str) -> str:
    head, *tail = key.split("_")
    return head + "".join(t[:1].upper() + t[1:] for t in tail)


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


def _refuse_own_format(agent: dict[str, Any], label: str) -> None:
    """A top-level ``agent`` without a prompt object and with keys ElevenLabs does not use is not an export.

    Hand-written formats (``agent: {system_prompt: ...}``) would otherwise read as a flattened
    agent with no prompt: refused, naming the keys, so nothing half-empty is planned.
    """
    if isinstance(agent.get("prompt"), dict):
        return
    foreign = [str(k) for k in agent if str(k) not in _AGENT_KEYS and not str(k).startswith("_")]
    if foreign:
        raise NotAnAgentConfig(
            f"{label}: not an ElevenLabs agent config: `agent` has no `prompt` object and keys ElevenLabs does not use "
            f"({', '.join(foreign[:6])}); {_expected()}",
            "A hand-written format of your own must be turned into an ElevenLabs config first.",
        )


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
    camel = _has_camel_keys(data)
    if camel:
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
        shape = (
            "api-response"
            if ("agent_id" in data or "metadata" in data)
            else ("cli-config" if ("platform_settings" in data or "tags" in data) else "create-body")
        )
    elif isinstance(data.get("agent"), dict) and any(k in data for k in CONVERSATION_SECTIONS):
        _refuse_own_format(data["agent"], label)
        data, moves = _unflatten(data, notes)
        shape = "flattened-legacy"
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
            f"{'' if _ID_SAFE.match(agent_id) else ', with characters ids never have'}); it would become the "
            "agent's identity",
            f"Fix or remove agent_id (ids are letters, digits, '_' and '-', at most {MAX_ID_LENGTH} characters).",
        )
    name = data.get("name")
    if isinstance(name, str) and len(name) > MAX_NAME_LENGTH:
        # The Atoms reference documents no limit for agent names; a name this long is a broken export, not a name.
        raise SourceFileError(
            f"{label}: the agent name is {len(name):,} characters; at most {MAX_NAME_LENGTH:,} are accepted",
            "Shorten the name in the file (it becomes the Atoms agent's name and is shown in every report).",
        )
    return SourceAgent(
        config=data,
        raw=raw,
        label=label,
        shape=shape,
        agent_id=agent_id,
        path=path,
        notes=tuple(notes),
        moves=tuple(moves) if shape == "flattened-legacy" else (),
        camel_case=camel,
    )


def _unflatten(data: dict[str, Any], notes: list[str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The flattened legacy shape in the API layout, completely, with where each moved subtree was.

    Sections at the top level go under ``conversation_config`` / ``platform_settings``; on
    ``agent``, a prompt given as text, prompt keys beside it and a prompt-level
    ``dynamic_variables`` go where the API keeps them; a top-level ``languages`` list becomes
    the primary language and language presets, a ``voices`` list with per-voice ``language``
    the main voice and per-language voices, and a list-form ``data_collection`` the API's map.
    """
    data = copy.deepcopy(data)  # the raw value stays as read: it is the truth reports point into
    moves: list[tuple[str, str]] = []
    done: list[str] = []

    def move(new: str, old: str) -> None:
        moves.append((new, old))

    cc: dict[str, Any] = {}
    for key in CONVERSATION_SECTIONS:
        if key in data:
            cc[key] = data[key]
            move(f"conversation_config.{key}", key)
    ps: dict[str, Any] = dict(data["platform_settings"]) if isinstance(data.get("platform_settings"), dict) else {}
    for key in PLATFORM_SECTIONS:
        if key in data and key not in ps:
            ps[key] = data[key]
            move(f"platform_settings.{key}", key)
            done.append(key)
    # `languages` and `voices` stay too (a rule in concepts.yaml says they were read): keys of their items
    # that are not read are then still accounted for, not lost with the list.
    rest = {k: v for k, v in data.items() if k not in CONVERSATION_SECTIONS and k not in done}
    agent = _agent_prompt(dict(cc["agent"]), move, done)
    cc["agent"] = agent
    _languages_list(data.get("languages"), cc, agent, move, done)
    _voices_list(data.get("voices"), cc, agent, move, done)
    dc = ps.get("data_collection")
    if isinstance(dc, list):
        ps["data_collection"] = _data_collection_map(dc, move)
        done.append("data_collection as a list")
    out = rest | {"conversation_config": cc}
    if ps:
        out["platform_settings"] = ps
    notes.append(
        (
            f"flattened legacy shape: {', '.join(k for k in CONVERSATION_SECTIONS if k in cc)} read as "
            "conversation_config.*"
        )
        + (f"; also normalised: {', '.join(done)}" if done else "")
    )
    return out, moves


def _agent_prompt(agent: dict[str, Any], move: Callable[[str, str], None], done: list[str]) -> dict[str, Any]:
    """``agent`` with its prompt where the API keeps it: text as ``prompt.prompt``, prompt keys beside it moved in,
    and a prompt-level ``dynamic_variables`` moved out to the agent."""
    if isinstance(agent.get("prompt"), str):
        agent["prompt"] = {"prompt": agent["prompt"]}
        move("conversation_config.agent.prompt.prompt", "agent.prompt")
        done.append("agent.prompt as text")
    prompt = dict(agent["prompt"]) if isinstance(agent.get("prompt"), dict) else {}
    for key in PROMPT_KEYS:
        if key in agent and key not in prompt:
            prompt[key] = agent.pop(key)
            move(f"conversation_config.agent.prompt.{key}", f"agent.{key}")
            done.append(f"agent.{key}")
    if "dynamic_variables" in prompt and "dynamic_variables" not in agent:
        agent["dynamic_variables"] = prompt.pop("dynamic_variables")
        move("conversation_config.agent.dynamic_variables", "agent.prompt.dynamic_variables")
        done.append("agent.prompt.dynamic_variables")
    if prompt or "prompt" in agent:
        agent["prompt"] = prompt
    return agent


def _data_collection_map(items: list[Any], move: Callable[[str, str], None]) -> dict[str, Any]:
    """A list-form ``data_collection`` as the API's map keyed by item id (``item_<i>`` without a usable id)."""
    keyed: dict[str, Any] = {}
    for i, item in enumerate(items):
        ident = next(
            (
                item.get(k)
                for k in ("id", "identifier", "name")
                if isinstance(item, dict) and isinstance(item.get(k), str)
            ),
            None,
        )
        if ident is None or ident in keyed:
            keyed[f"item_{i}"] = item
            ident = f"item_{i}"
        else:
            keyed[ident] = {
                k: v for k, v in item.items() if k not in ("id", "identifier") and not (k == "name" and v == ident)
            }
        move(f"platform_settings.data_collection[{json.dumps(ident)}]", f"data_collection[{i}]")
    return keyed


def _languages_list(languages: Any, cc: dict[str, Any], agent: dict[str, Any], move: Any, done: list[str]) -> None:
    """``languages: [en, es]`` or ``[{language, first_message, voice_id}]`` -> primary language + presets."""
    if not isinstance(languages, list) or not languages:
        return
    presets = cc.setdefault("language_presets", {}) if isinstance(cc.get("language_presets", {}), dict) else None
    if presets is None:
        return
    for i, item in enumerate(languages):
        code = (
            item
            if isinstance(item, str)
            else next(
                (
                    item.get(k)
                    for k in ("language", "code", "language_code")
                    if isinstance(item, dict) and isinstance(item.get(k), str)
                ),
                None,
            )
        )
        if not code:
            continue
        if i == 0 and not isinstance(agent.get("language"), str):
            agent["language"] = code
            move(
                "conversation_config.agent.language",
                f"languages[{i}]" if isinstance(item, str) else f"languages[{i}].language",
            )
        overrides: dict[str, Any] = {}
        if isinstance(item, dict):
            if isinstance(item.get("first_message"), str):
                overrides["agent"] = {"first_message": item["first_message"]}
            if isinstance(item.get("voice_id"), str):
                overrides["tts"] = {"voice_id": item["voice_id"]}
        if code != agent.get("language") and code not in presets:
            presets[code] = {"overrides": overrides}
            move(paths.join("conversation_config.language_presets", code), f"languages[{i}]")
    done.append("languages list")


def _voices_list(voices: Any, cc: dict[str, Any], agent: dict[str, Any], move: Any, done: list[str]) -> None:
    """``voices: [{voice_id, language}]``: the primary language's voice is the main one, others go to presets."""
    if not isinstance(voices, list) or not voices or not isinstance(cc.get("tts", {}), dict):
        return
    tts = cc.setdefault("tts", {})
    primary = agent.get("language") if isinstance(agent.get("language"), str) else "en"
    items = [(i, v) for i, v in enumerate(voices) if isinstance(v, dict) and isinstance(v.get("voice_id"), str)]
    main = next(((i, v) for i, v in items if v.get("language") == primary), items[0] if items else None)
    for i, voice in items:
        if (i, voice) == main and "voice_id" not in tts:
            tts["voice_id"] = voice["voice_id"]
            move("conversation_config.tts.voice_id", f"voices[{i}].voice_id")
            if isinstance(voice.get("language"), str):
                move("conversation_config.agent.language", f"voices[{i}].language") if "language" not in agent else None
            continue
        code = voice.get("language")
        presets = cc.setdefault("language_presets", {})
        if isinstance(code, str) and isinstance(presets, dict):
            preset = presets.setdefault(code, {"overrides": {}})
            preset.setdefault("overrides", {}).setdefault("tts", {})["voice_id"] = voice["voice_id"]
            move(
                paths.join("conversation_config.language_presets", code, "overrides", "tts", "voice_id"),
                f"voices[{i}].voice_id",
            )
        else:
            supported = tts.setdefault("supported_voices", [])
            supported.append({"label": voice.get("label") or voice["voice_id"], "voice_id": voice["voice_id"]})
            move(f"conversation_config.tts.supported_voices[{len(supported) - 1}]", f"voices[{i}]")
    done.append("voices list with per-voice language")


def env_placeholders(text: str) -> list[str]:
    return _ENV_PLACEHOLDER.findall(text)


class _Unreadable:
    """A number the file spells but no JSON reader should accept (NaN, Infinity, 5000 digits)."""

    def __init__(self, text: str) -> None:
        self.text = text


_MAX_INT_DIGITS = 4000  # Python refuses to convert more than 4300 digits; no config field needs 20


def _parse_int(text: str) -> int | _Unreadable:
    return _Unreadable(f"an integer of {len(text.lstrip('-'))} digits") if len(text) > _MAX_INT_DIGITS else int(text)


def _bad_numbers(value: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
    leaves = paths.iter_leaves(value) if isinstance(value, (dict, list)) else [((), value)]
    for seg, leaf in leaves:
        if isinstance(leaf, _Unreadable):
            yield seg, leaf.text
        elif isinstance(leaf, float) and not math.isfinite(leaf):
            yield seg, "NaN" if math.isnan(leaf) else ("-Infinity" if leaf < 0 else "Infinity")


def reject_bad_numbers(value: Any, label: str) -> Any:
    """``value``, unless it holds NaN, ±Infinity (or a number that overflows to it) or an absurdly long integer.

    Python's JSON reader accepts these non-standard numbers; no vendor API does, and the mapping
    cannot clamp what is not a number. Raised as a read error naming each field, in the file's own paths.
    """
    bad = list(_bad_numbers(value))
    if bad:
        where = ", ".join(f"{paths.format_path(seg) or '(top level)'} is {what}" for seg, what in bad[:5])
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise SourceFileError(
            f"{label}: {where}{more}: not a number JSON allows",
            "Replace each with a real number (or remove the field), then run again.",
        )
    return value


def parse_config_text(text: str, label: str, suffix: str = "") -> Any:
    """Parse JSON or YAML text; malformed or unbounded input raises ``SourceFileError`` naming the spot."""
    value = _parse(text, label, suffix)
    try:
        check_value(value)  # depth and size first: the number check below walks the tree
    except InputTooLarge as exc:
        raise SourceFileError(f"{label}: {exc}", "Fix the file, or export the agent again.") from None
    return reject_bad_numbers(value, label)


def _parse(text: str, label: str, suffix: str) -> Any:
    if suffix.lower() in (".yaml", ".yml"):
        return _parse_yaml(text, label)
    try:
        # strict=False: exports sometimes carry raw control characters inside strings.
        parsed = json.loads(text, strict=False, parse_constant=_Unreadable, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        if suffix.lower() == ".json":
            raise SourceFileError(
                f"{label}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                "Fix the file, or export the agent again.",
            ) from exc
        return _parse_yaml(text, label)
    except RecursionError:
        raise SourceFileError(
            f"{label}: is nested deeper than {MAX_DEPTH} levels", "Fix the file, or export the agent again."
        ) from None
    except ValueError as exc:  # e.g. an integer beyond Python's 4,300-digit conversion limit
        raise SourceFileError(
            f"{label}: not a usable JSON value: {str(exc).splitlines()[0].split(';')[0][:160]}",
            "Fix the file, or export the agent again.",
        ) from None
    return parsed


def _parse_yaml(text: str, label: str) -> Any:
    try:
        return yaml.safe_load(text)
    except RecursionError:
        raise SourceFileError(
            f"{label}: is nested deeper than {MAX_DEPTH} levels", "Fix the file, or export the agent again."
        ) from None
    except ValueError as exc:  # an integer beyond Python's digit limit, a bad timestamp
        raise SourceFileError(
            f"{label}: not a usable YAML value: {str(exc).splitlines()[0].split(';')[0][:160]}",
            "Fix the file, or export the agent again.",
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SourceFileError(
            f"{label}: malformed YAML{where}: {problem}", "Fix the file, or export the agent again."
        ) from exc


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
        raise SourceFileError(
            f"{path}: is a directory", "Pass one agent file; folders go to `atoms-migrate all`."
        ) from exc
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
    for file in sorted(
        [
            *directory.glob("*.json"),
            *directory.glob("*.yaml"),
            *directory.glob("*.yml"),
            *directory.glob("tool_configs/*.json"),
        ]
    ):
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
