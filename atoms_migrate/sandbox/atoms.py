"""A stateful fake of the Smallest Atoms REST API, traps included.

It follows smallest-atoms-api.md rather than any convenient reading of it, because its job
is to catch a client that would fail against production:
- v2 (branches, revisions, 202 ``scanning`` publish, make-live) and v1 (drafts, versions,
  security check, explicit activate) accounts; on v2 the v1 writes and lists answer 409
  ``versioning_v2_migration_required`` with ``Deprecation: true``; on v1 the branch routes
  are Express HTML 404s (§C.4);
- create ignores ``singlePromptConfig``, ``postCallAnalyticsConfig`` and ``transcriberType``
  and overwrites ``backgroundSound`` (§B.1, §H.9); ``PATCH /agent`` rejects config (§B.4);
- nulls are rejected (§H.11), ``language`` needs ``switching`` (§H.8), the language, model,
  tool and voice rules of §D–§F are enforced, and publish refuses an empty first message
  (§H.20); unknown agents are a 400 ``No agent found`` (§H.17);
- the list endpoint answers in the production shape (``hasMore``/``totalCount``, §B.3),
  ``GET /agent/{id}`` carries ``_resolvedConfig`` only on v1 and revisions carry a
  ``resolvedConfig`` keyed by section (§C.2, §H.18); the server adds ``enabled: true`` to
  tools it stores, as defaults do.
A security scan completes after ``scan_reads`` further reads of the agent; a prompt holding
``[sandbox:fail-scan]`` fails it. Not thread-safe on its own: ``server.Sandbox`` locks.

Where the reference leaves a point open, the account's answer is a switchable behaviour
(``BEHAVIOURS``, per run), so every reading of it can be rehearsed: a v2 draft that accepts
but does not keep ``singlePromptConfig.prompt`` (§J.1), one that ignores
``postCallAnalyticsConfig`` (§J.3), a colleague's concurrent edit that makes
``expectedRevision`` answer 409 (§K.1, §C.8), and a catalog whose Pro-pool voices need the
Pro model field (§K.4). Draft bodies are held to the vendor SDK where it is explicit:
``workflowType`` is refused on a v2 draft (set at create, §K.1) and a v1
``singlePromptConfig`` needs its ``prompt`` (§K.2).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from atoms_migrate.sandbox.resources import FakeResources
from atoms_migrate.sandbox.webhooks import FakeWebhooks
from atoms_migrate.sandbox.wire import FakeRequest, FakeResponse, Injection, html_404, json_response

LANGUAGES = {"en", "hi", "mr", "gu", "ta", "es", "north_indic", "bn", "or"}
MODELS = {
    "electron",
    "electron-kogta",
    "electron-kogta-v2",
    "gpt-4o",
    "gpt-4.1",
    "gpt-5.2",
    "gpt-realtime",
    "gpt-realtime-mini",
}
GATED_MODELS = {"electron-kogta", "electron-kogta-v2", "gpt-5.2"}
BACKGROUND_SOUNDS = {"", "office", "cafe", "call_center", "static"}
TOOL_TYPES = {"end_call", "transfer_call", "api_call", "extract_dynamic_variables", "knowledge_base_search"}
# The Lightning v3.1 voices the reference names (§E.2), with the tags get_voices gives them.
_VOICES_F_US = "lauren hannah vanessa brooke olivia rachel nicole elizabeth ilsa christine avery emily nyah quinn mia"
_VOICES_M_US = "jordan robert johnny lucas magnus ronald blofeld zorin felix malcolm daniel"
_VOICES_INDIC_F = (
    "sunidhi chinmayi aanya siya anuja avni ishani yuvika advika sana sameera srishti sakshi maya maithili"
)
_VOICES_INDIC_M = "wasim rehan parth atharv vivaan devansh aarush neel mihir"
_VOICES_OTHER = {
    "william": ("male", "canadian", ["english"]),
    "erica": ("female", "canadian", ["english"]),
    "chloe": ("female", "australian", ["english"]),
    "liam": ("male", "british", ["english"]),
    "daniella": ("female", "spanish", ["spanish"]),
    "camilla": ("female", "spanish", ["spanish"]),
    "alba": ("female", "spanish", ["spanish"]),
    "nerea": ("female", "spanish", ["spanish"]),
    "marcos": ("male", "spanish", ["spanish"]),
    "david": ("male", "spanish", ["spanish"]),
    "miguel": ("male", "spanish", ["spanish"]),
}
_VOICES_PRO_F = (
    "rhea zariya kareena mishka inaaya saira meher aarini sophie ellie cressida ottilie elowen seraphina "
    "kaitlyn savannah amelia zoe ruby leah jenna kate molly sara fiona"
)
_VOICES_PRO_M = "aviraj vyom zoravar reyansh ahan sam henry benedict cormac rupert finley blake"
METADATA_FIELDS = {"name", "description", "avatarUrl", "telephonyProductId", "allowInboundCall", "visibleToEveryone"}
CREATE_IGNORED = {"singlePromptConfig", "postCallAnalyticsConfig", "transcriberType"}
CONFIG_FIELDS = {
    "backgroundSound",
    "globalKnowledgeBaseId",
    "language",
    "synthesizer",
    "slmModel",
    "defaultVariables",
    "preCallAPI",
    "firstMessage",
    "allowInterruptions",
    "waitForUserToSpeakFirst",
    "transcriberType",
    "globalPrompt",
    "speechFormatting",
    "muteUserUntilFirstBotResponse",
    "interruptionBackoffTimer",
    "enableStyleGuide",
    "callDispositionConfig",
    "voiceMailDetectionConfig",
    "smartTurnConfig",
    "voiceDetectionConfig",
    "denoisingConfig",
    "redactionConfig",
    "pronunciationDicts",
    "llmIdleTimeoutConfig",
    "sessionTimeoutConfig",
    "timezone",
    "postCallAnalyticsConfig",
    "singlePromptConfig",
    "workflowType",
    "customLLMWebSocketUrl",
    "widgetConfig",
    "toolRefs",
    "playbooks",
}
SECTIONS = (
    "workflow_prompt",
    "workflow_tools",
    "workflow_graph",
    "llm",
    "voice",
    "language",
    "call_handling",
    "detection",
    "analytics",
    "timeouts",
    "audio",
    "privacy",
    "widget",
    "playbooks",
)
# Where each field sits in a revision's resolvedConfig (section -> field -> value).
_SECTION_OF = {
    "slmModel": "llm",
    "customLLMWebSocketUrl": "llm",
    "globalPrompt": "workflow_prompt",
    "synthesizer": "voice",
    "smartTurnConfig": "detection",
    "voiceDetectionConfig": "detection",
    "voiceMailDetectionConfig": "detection",
    "postCallAnalyticsConfig": "analytics",
    "callDispositionConfig": "analytics",
    "llmIdleTimeoutConfig": "timeouts",
    "sessionTimeoutConfig": "timeouts",
    "backgroundSound": "audio",
    "denoisingConfig": "audio",
    "transcriberType": "audio",
    "redactionConfig": "privacy",
    "widgetConfig": "widget",
}
FAIL_SCAN_MARK = "[sandbox:fail-scan]"
# Account behaviours for what the reference leaves open (name -> what the fake then does).
BEHAVIOURS = {
    "prompt-in-global-prompt": "v2 drafts accept singlePromptConfig.prompt but do not keep it; the prompt lives in "
    "globalPrompt (§J.1)",
    "ignore-post-call-analytics": "v2 drafts accept postCallAnalyticsConfig but do not keep it (§J.3)",
    "concurrent-edit": "a colleague edits the live branch's draft just before the next draft write to each agent, "
    "so a stale expectedRevision answers 409 (§K.1, §C.8)",
    "pro-voice-model": "Pro-pool voices are kept only with voiceConfig.modelId lightning-v3.1-pro (§K.4)",
}
PRO_MODEL_ID = "lightning-v3.1-pro"
COLLEAGUE_EDIT = {"firstMessage": "Edited in the dashboard meanwhile."}


def voice_catalog() -> list[dict[str, Any]]:
    voices = []

    def add(names: str, gender: str, accent: str, languages: list[str]) -> None:
        for name in names.split():
            voices.append(
                {
                    "voiceId": name,
                    "displayName": name.title(),
                    "tags": {
                        "language": languages,
                        "accent": accent,
                        "gender": gender,
                        "age": "young",
                        "emotions": [],
                        "usecases": ["conversational"],
                    },
                }
            )

    add(_VOICES_F_US, "female", "american", ["english"])
    add(_VOICES_M_US, "male", "american", ["english"])
    add(_VOICES_INDIC_F, "female", "indian", ["english", "hindi"])
    add(_VOICES_INDIC_M, "male", "indian", ["english", "hindi"])
    for name, (gender, accent, languages) in _VOICES_OTHER.items():
        add(name, gender, accent, languages)
    start = len(voices)
    add(_VOICES_PRO_F, "female", "british", ["english"])
    add(_VOICES_PRO_M, "male", "british", ["english"])
    for voice in voices[start:]:
        voice["models"] = [PRO_MODEL_ID]  # §K.4: the catalog lists the Pro model for Pro-pool voices
    return voices


def default_config() -> dict[str, Any]:
    """What the server fills in on create (§B.1, §E.1, §H.10)."""
    return {
        "workflowType": "single_prompt",
        "allowInboundCall": True,
        "backgroundSound": "",
        "slmModel": "electron",
        "language": {"default": "en", "supported": ["en"], "switching": {"isEnabled": False}},
        "synthesizer": {
            "voiceConfig": {"model": "waves_lightning_v3_1", "voiceId": "nyah", "gender": "female"},
            "speed": 1.2,
            "consistency": 0.5,
            "similarity": 0,
            "enhancement": 1,
            "sampleRate": 16000,
        },
        "redactionConfig": {"isEnabled": True},
        "denoisingConfig": {"isEnabled": False},
        "sessionTimeoutConfig": {"timeoutTimeInSecs": 1800},
        "singlePromptConfig": {"prompt": "", "tools": []},
    }


class FakeError(Exception):
    def __init__(
        self, status: int, message: str, error_type: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.error_type, self.headers = status, message, error_type, headers or {}

    def response(self) -> FakeResponse:
        body: dict[str, Any] = {"status": False, "errors": [self.message]}
        if self.error_type:
            body["error_type"] = self.error_type
        return json_response(self.status, body, self.headers)


def _deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _find_null(value: Any, where: str = "") -> str | None:
    if value is None:
        return where or "body"
    if isinstance(value, dict):
        for k, v in value.items():
            found = _find_null(v, f"{where}.{k}" if where else k)
            if found:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = _find_null(v, f"{where}[{i}]")
            if found:
                return found
    return None


@dataclass
class Revision:
    id: str
    branch_id: str | None
    config: dict[str, Any]
    status: str = "published"
    number: int | None = None
    label: str = ""
    scan: str = "passed"
    scan_reason: str | None = None
    reads_left: int = 0
    is_active: bool = False
    draft: dict[str, Any] | None = None  # the draft it was published from, reopened if the scan fails


@dataclass
class Branch:
    id: str
    name: str
    is_default: bool
    source_branch_id: str | None = None
    head_revision_id: str | None = None
    draft: dict[str, Any] | None = None
    draft_revision: int = 0
    draft_id: str | None = None
    scan_blocked: bool = False
    status: str = "active"


@dataclass
class Agent:
    id: str
    versioning: str
    meta: dict[str, Any]
    created: int
    archived: bool = False
    branches: dict[str, Branch] = field(default_factory=dict)
    live_branch_id: str | None = None
    revisions: dict[str, Revision] = field(default_factory=dict)  # v2 revisions and v1 versions
    active_version_id: str | None = None  # v1
    drafts: dict[str, dict[str, Any]] = field(default_factory=dict)  # v1: draftId -> {config, source}


class FakeAtoms:
    """The Atoms API state machine. ``handle`` answers one request."""

    def __init__(self, api_key: str, versioning: str = "v2", scan_reads: int = 1) -> None:
        self.api_key = api_key
        self.versioning = versioning
        self.scan_reads = scan_reads
        self.agents: dict[str, Agent] = {}
        self._ids = itertools.count(1)
        self.voices = voice_catalog()
        self.resources = FakeResources(process_reads=scan_reads)
        self.webhooks = FakeWebhooks(
            self.new_id, lambda agent_id: self.agents[agent_id].meta.get("name") if agent_id in self.agents else None
        )
        self.granted_models: set[str] = set()
        self.injections: list[Injection] = []  # every behaviour and ignored field switched on, in order
        self._active: dict[str, Injection] = {}  # what is switched on now -> its injection
        self._ignored_draft_fields: set[str] = set()
        self.behaviours: set[str] = set()
        self._edited: set[str] = set()  # agents the concurrent-edit behaviour already edited

    @property
    def ignored_draft_fields(self) -> set[str]:
        """Draft fields the server accepts with 200 but does not keep: rehearses §J.3-style
        unverified acceptance, which only a read-back catches."""
        return self._ignored_draft_fields

    @ignored_draft_fields.setter
    def ignored_draft_fields(self, fields: set[str]) -> None:
        self._ignored_draft_fields = set(fields)
        self._switch_on("ignored draft field", self._ignored_draft_fields)

    def _switch_on(self, kind: str, names: set[str]) -> None:
        """Record a fresh injection for each name of this kind, replacing the kind's earlier ones."""
        self._active = {k: v for k, v in self._active.items() if not k.startswith(f"{kind} ")}
        for name in sorted(names):
            injection = Injection(f"{kind} {name}")
            self._active[injection.what] = injection
            self.injections.append(injection)

    def _fired(self, what: str) -> None:
        """An injected behaviour or ignored field just changed an answer."""
        injection = self._active.get(what)
        if injection is not None:
            injection.fired += 1

    # -- helpers -------------------------------------------------------------------------------

    def new_id(self) -> str:
        return f"{next(self._ids):024x}"

    def _agent(self, agent_id: str) -> Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise FakeError(400, "No agent found")
        return agent

    def _tick(self, agent: Agent) -> None:
        """A read of the agent: scans in progress move on."""
        for rev in agent.revisions.values():
            if rev.scan == "queued":
                if rev.reads_left > 0:
                    rev.reads_left -= 1
                    continue
                self._finish_scan(agent, rev)

    def set_behaviours(self, names: set[str] | list[str]) -> None:
        unknown = set(names) - set(BEHAVIOURS)
        if unknown:
            raise ValueError(f"unknown sandbox behaviour(s) {sorted(unknown)}; use {sorted(BEHAVIOURS)}")
        self.behaviours = set(names)
        self._edited.clear()
        self._switch_on("behaviour", self.behaviours)

    def _finish_scan(self, agent: Agent, rev: Revision) -> None:
        prompt = str(rev.config.get("singlePromptConfig", {}).get("prompt", "")) + str(
            rev.config.get("globalPrompt") or ""
        )
        if FAIL_SCAN_MARK in prompt:
            rev.scan, rev.scan_reason = "failed", "Prompt flagged by the security scan (sandbox marker)."
            if agent.versioning == "v2" and rev.branch_id:
                branch = agent.branches[rev.branch_id]
                branch.draft, branch.draft_id, branch.scan_blocked = rev.draft, self.new_id(), True
            return
        rev.scan = "passed"
        if agent.versioning == "v2" and rev.branch_id:
            branch = agent.branches[rev.branch_id]
            rev.status = "published"
            rev.number = 1 + max((r.number or 0) for r in agent.revisions.values() if r.branch_id == branch.id)
            branch.head_revision_id = rev.id

    def _live_revision(self, agent: Agent) -> Revision | None:
        if agent.versioning == "v1":
            return agent.revisions.get(agent.active_version_id or "")
        branch = agent.branches.get(agent.live_branch_id or "")
        return agent.revisions.get(branch.head_revision_id or "") if branch else None

    def validate(self, body: dict[str, Any], merged: dict[str, Any] | None) -> None:
        null_at = _find_null(body)
        if null_at:
            raise FakeError(400, f"Invalid Input: {null_at}: Expected a value, received null")
        if "language" in body and not isinstance(body["language"].get("switching"), dict):
            raise FakeError(400, "Invalid Input: language.switching: Required")
        config = merged if merged is not None else body
        lang = config.get("language")
        if isinstance(lang, dict):
            supported = lang.get("supported") or [lang.get("default", "en")]
            for code in [lang.get("default", "en"), *supported]:
                if code not in LANGUAGES:
                    raise FakeError(400, f"Invalid enum value. Expected {sorted(LANGUAGES)}, received '{code}'")
            if lang.get("default", "en") not in supported:
                raise FakeError(400, "language.default must be one of language.supported")
            if "ta" in supported and len(supported) > 1:
                raise FakeError(400, "Tamil (ta) cannot be combined with other languages")
            if "north_indic" in supported and config.get("transcriberType") != "pulse":
                raise FakeError(400, "north_indic requires transcriberType: pulse")
        model = body.get("slmModel")
        if model is not None:
            if model not in MODELS:
                raise FakeError(400, f"Invalid enum value. Expected {sorted(MODELS)}, received '{model}'")
            if model in GATED_MODELS and model not in self.granted_models:
                raise FakeError(403, f"Model {model} is not available for your organization")
        first = body.get("firstMessage")
        if isinstance(first, str) and len(first) > 500:
            raise FakeError(400, "firstMessage: String must contain at most 500 character(s)")
        if body.get("backgroundSound", "") not in BACKGROUND_SOUNDS:
            raise FakeError(400, f"Invalid enum value for backgroundSound: '{body['backgroundSound']}'")
        voice = (body.get("synthesizer") or {}).get("voiceConfig") or {}
        if voice.get("voiceId") and voice.get("model", "waves_lightning_v3_1") == "waves_lightning_v3_1":
            known = {v["voiceId"] for v in self.voices}
            if voice["voiceId"] not in known and voice["voiceId"] not in self.resources.clones:
                raise FakeError(400, f"Voice {voice['voiceId']} not found for waves_lightning_v3_1")
        kb_id = body.get("globalKnowledgeBaseId")
        if kb_id is not None and kb_id not in self.resources.knowledge_bases:
            raise FakeError(400, f"globalKnowledgeBaseId: knowledge base {kb_id} not found")
        tools = (body.get("singlePromptConfig") or {}).get("tools")
        if tools is not None:
            self._validate_tools(tools)
            for i, tool in enumerate(tools):
                if (
                    tool.get("type") == "knowledge_base_search"
                    and tool.get("knowledgeBaseId") not in self.resources.knowledge_bases
                ):
                    raise FakeError(400, f"singlePromptConfig.tools[{i}].knowledgeBaseId: knowledge base not found")

    @staticmethod
    def _validate_tools(tools: list[Any]) -> None:
        names = set()
        for i, tool in enumerate(tools):
            where = f"singlePromptConfig.tools[{i}]"
            if not isinstance(tool, dict) or tool.get("type") not in TOOL_TYPES:
                raise FakeError(400, f"{where}.type: Invalid discriminator value")
            for key in ("name", "description"):
                if not isinstance(tool.get(key), str) or not tool[key]:
                    raise FakeError(400, f"{where}.{key}: Required")
            if " " in tool["name"]:
                raise FakeError(400, f"{where}.name: tool names cannot contain spaces")
            if tool["name"] in names:
                raise FakeError(400, f"{where}.name: duplicate tool name {tool['name']}")
            names.add(tool["name"])
            required = {
                "transfer_call": ("transferNumber", "transferOption"),
                "api_call": ("url", "method"),
                "extract_dynamic_variables": ("variablesExtractionSchema",),
                "knowledge_base_search": ("knowledgeBaseId",),
            }.get(tool["type"], ())
            for key in required:
                if not tool.get(key):
                    raise FakeError(400, f"{where}.{key}: Required")
            if tool["type"] == "transfer_call" and not re.match(r"^\+[1-9]\d{6,14}$", str(tool["transferNumber"])):
                raise FakeError(400, f"{where}.transferNumber: must be E.164")
            if tool["type"] == "api_call":
                FakeAtoms._validate_api_call(tool, where)

    @staticmethod
    def _validate_api_call(tool: dict[str, Any], where: str) -> None:
        """Atoms §D.3, as strictly as the spec allows a server to be."""
        if not re.match(r"^https?://[^/\s{}<>$]+", str(tool["url"])):
            raise FakeError(400, f"{where}.url: Invalid url")
        if tool["method"] not in ("GET", "POST", "PUT", "DELETE", "PATCH"):
            raise FakeError(400, f"{where}.method: Invalid enum value")
        timeout = tool.get("timeout", 5000)
        if not isinstance(timeout, int) or isinstance(timeout, bool) or not 1000 <= timeout <= 30000:
            raise FakeError(400, f"{where}.timeout: Number must be between 1000 and 30000")
        headers = tool.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise FakeError(400, f"{where}.headers: Expected record of strings")
        if any(re.match(r"^<(secret|ref):", v) for v in headers.values()):
            raise FakeError(400, f"{where}.headers: an unresolved reference was sent as a header value")
        for key in ("queryParams", "responseVariables", "llmParameters"):
            if not isinstance(tool.get(key, []), list):
                raise FakeError(400, f"{where}.{key}: Expected array")
        for j, item in enumerate(tool.get("queryParams", [])):
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("key"), str)
                or not isinstance(item.get("value"), str)
            ):
                raise FakeError(400, f"{where}.queryParams[{j}]: key and value (strings) are required")
        params = {}
        for j, param in enumerate(tool.get("llmParameters", [])):
            if not isinstance(param, dict) or not all(
                isinstance(param.get(k), str) and param[k] for k in ("name", "description", "type")
            ):
                raise FakeError(400, f"{where}.llmParameters[{j}]: name, description and type are required")
            if param["type"] not in ("text", "number", "boolean", "enum"):
                raise FakeError(400, f"{where}.llmParameters[{j}].type: Invalid enum value")
            if param["type"] == "enum" and not param.get("values"):
                raise FakeError(400, f"{where}.llmParameters[{j}].values: Required for enum")
            params[param["name"]] = param["type"]
        for j, var in enumerate(tool.get("responseVariables", [])):
            if not isinstance(var, dict) or not var.get("variableName") or not var.get("jsonPath"):
                raise FakeError(400, f"{where}.responseVariables[{j}]: variableName and jsonPath are required")
        body = tool.get("requestBody")
        if body is not None:
            if not isinstance(body, str):
                raise FakeError(400, f"{where}.requestBody: Expected string")
            sample = {"number": "1", "boolean": "true"}
            filled = re.sub(r"\{\{\s*([\w.]+)\s*\}\}", lambda m: sample.get(params.get(m.group(1), ""), "x"), body)
            try:
                json.loads(filled)
            except ValueError:
                raise FakeError(400, f"{where}.requestBody: not valid JSON once its templates are filled") from None

    @staticmethod
    def _stored(config: dict[str, Any]) -> dict[str, Any]:
        """As the server keeps it: tool defaults filled in."""
        out = copy.deepcopy(config)
        for tool in (out.get("singlePromptConfig") or {}).get("tools") or []:
            tool.setdefault("enabled", True)
        return out

    # -- views ---------------------------------------------------------------------------------

    @staticmethod
    def sections(config: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {name: {} for name in SECTIONS}
        spc = config.get("singlePromptConfig") or {}
        out["workflow_prompt"]["prompt"] = spc.get("prompt", "")
        out["workflow_tools"]["tools"] = copy.deepcopy(spc.get("tools", []))
        for key, value in config.items():
            if key in ("singlePromptConfig", "workflowType", "allowInboundCall"):
                continue
            if key == "language":
                out["language"].update(
                    {
                        "defaultLanguage": value.get("default"),
                        "supportedLanguages": value.get("supported"),
                        "languageSwitching": value.get("switching"),
                    }
                )
                continue
            out[_SECTION_OF.get(key, "call_handling")][key] = copy.deepcopy(value)
        return out

    @staticmethod
    def flat_resolved(config: dict[str, Any]) -> dict[str, Any]:
        """The ``_resolvedConfig`` of GET /agent/{id} (§B.2)."""
        out = {
            k: copy.deepcopy(v) for k, v in config.items() if k not in ("singlePromptConfig", "language", "slmModel")
        }
        spc = config.get("singlePromptConfig") or {}
        out.update(
            {
                "prompt": spc.get("prompt", ""),
                "tools": copy.deepcopy(spc.get("tools", [])),
                "modelName": config.get("slmModel"),
            }
        )
        lang = config.get("language") or {}
        out.update(
            {
                "defaultLanguage": lang.get("default"),
                "supportedLanguages": lang.get("supported"),
                "languageSwitching": lang.get("switching"),
            }
        )
        return out

    def agent_view(self, agent: Agent, detail: bool) -> dict[str, Any]:
        view: dict[str, Any] = {
            "_id": agent.id,
            **copy.deepcopy(agent.meta),
            "archived": agent.archived,
            "createdAt": agent.created,
            "organization": "sandbox-org",
        }
        live = self._live_revision(agent)
        config = live.config if live else {}
        for key, value in config.items():
            if key != "singlePromptConfig":
                view[key] = copy.deepcopy(value)
        view["activeVersionId"] = agent.active_version_id
        view["versionId"] = agent.active_version_id
        if detail and agent.versioning == "v1" and live:
            view["_resolvedConfig"] = self.flat_resolved(config)
        return view

    def revision_view(self, agent: Agent, rev: Revision) -> dict[str, Any]:
        branch = agent.branches.get(rev.branch_id or "")
        view: dict[str, Any] = {
            "_id": rev.id,
            "agent": agent.id,
            "status": rev.status,
            "branch": rev.branch_id,
            "label": rev.label,
            "securityCheck": {"status": rev.scan, "reason": rev.scan_reason},
            "isActive": rev.is_active,
        }
        if rev.number is not None:
            view["revisionNumber" if branch else "versionNumber"] = rev.number
        if rev.scan == "queued":
            view["pendingPublish"] = {"state": "active"}
        return view

    def branch_summary(self, agent: Agent, branch: Branch) -> dict[str, Any]:
        head = agent.revisions.get(branch.head_revision_id or "")
        return {
            "branch": {
                "_id": branch.id,
                "agent": agent.id,
                "name": branch.name,
                "isDefault": branch.is_default,
                "sourceBranchId": branch.source_branch_id,
                "headRevisionId": branch.head_revision_id,
                "openDraftId": branch.draft_id if branch.draft is not None else None,
                "status": branch.status,
            },
            "isLive": agent.live_branch_id == branch.id,
            "hasOpenDraft": branch.draft is not None and bool(branch.draft),
            "revisionsCount": sum(1 for r in agent.revisions.values() if r.branch_id == branch.id and r.number),
            "headRevisionNumber": head.number if head else None,
        }

    # -- dispatch ------------------------------------------------------------------------------

    def handle(self, req: FakeRequest) -> FakeResponse:
        auth = req.headers.get("authorization", "")
        if auth != f"Bearer {self.api_key}":
            return FakeError(401, "Unauthorized: User not found").response()
        path = req.path[len("/atoms/v1") :] if req.path.startswith("/atoms/v1") else None
        if path is None:
            return self._waves(req)
        if path.startswith("/knowledgebase"):
            return self.resources.handle_kb(req, path) or html_404(req.method, req.path)
        if path.startswith("/webhook") or path.endswith("/webhook-subscriptions"):
            try:
                body = req.json() if req.method in ("POST", "PUT", "PATCH") else None
            except ValueError:
                return FakeError(400, "Invalid JSON body").response()
            return self.webhooks.handle(req, path, body) or html_404(req.method, req.path)
        for method, pattern, name in _ROUTES:
            m = pattern.fullmatch(path)
            if m and method == req.method:
                try:
                    body = req.json() if req.method in ("POST", "PUT", "PATCH") else None
                except ValueError:
                    return FakeError(400, "Invalid JSON body").response()
                try:
                    route: Callable[..., FakeResponse] = getattr(self, name)
                    return route(req, body, *m.groups())
                except FakeError as exc:
                    return exc.response()
                except _Conflict as exc:
                    return json_response(409, exc.payload)
                except _Html:
                    return html_404(req.method, req.path)
        return html_404(req.method, req.path)

    def _waves(self, req: FakeRequest) -> FakeResponse:
        if req.method == "GET" and req.path == "/waves/v1/lightning-v3.1/get_voices":
            return json_response(200, {"voices": copy.deepcopy(self.voices)})
        return self.resources.handle_clones(req) or html_404(req.method, req.path)

    def _v1_only(self, agent: Agent) -> None:
        if agent.versioning == "v2":
            raise FakeError(
                409,
                "This endpoint is deprecated under the branch model. Use the /agents/:id/branches "
                "APIs — see the migration guide.",
                "versioning_v2_migration_required",
                {"Deprecation": "true"},
            )

    @staticmethod
    def _v2_only(agent: Agent) -> None:
        """Branch routes do not exist on a v1 account: Express answers its HTML 404 (§C.4)."""
        if agent.versioning == "v1":
            raise _Html

    # -- agents --------------------------------------------------------------------------------

    def create_agent(self, req: FakeRequest, body: Any) -> FakeResponse:
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"].strip():
            raise FakeError(400, "Invalid Input: name: Required")
        self.validate(body, None)
        if body.get("workflowType") == "workflow_graph":
            raise FakeError(403, "workflow_graph agents are not available for your organization")
        name = body["name"]
        taken = {a.meta["name"] for a in self.agents.values()}
        n = 2
        while name in taken:  # [3P]: a duplicate name gets a silent suffix
            name = f"{body['name']} ({n})"
            n += 1
        meta = {k: body[k] for k in METADATA_FIELDS if k in body}
        meta["name"] = name
        config = {k: v for k, v in body.items() if k in CONFIG_FIELDS and k not in CREATE_IGNORED}
        if "pro-voice-model" in self.behaviours:
            config = self._pro_voice(config)
        config = _deep_merge(default_config(), config)
        config["backgroundSound"] = ""  # §H.9: overwritten by the server default
        agent = Agent(id=self.new_id(), versioning=self.versioning, meta=meta, created=len(self.agents) + 1)
        rev = Revision(
            id=self.new_id(), branch_id=None, config=self._stored(config), number=1, label="Version 1", is_active=True
        )
        if agent.versioning == "v2":
            main = Branch(id=self.new_id(), name="Main", is_default=True)
            rev.branch_id, main.head_revision_id = main.id, rev.id
            agent.branches[main.id], agent.live_branch_id = main, main.id
        else:
            agent.active_version_id = rev.id
        agent.revisions[rev.id] = rev
        self.agents[agent.id] = agent
        return json_response(201, {"status": True, "data": agent.id})

    def get_agent(self, req: FakeRequest, body: Any, agent_id: str) -> FakeResponse:
        agent = self._agent(agent_id)
        self._tick(agent)
        view = self.agent_view(agent, detail=True)
        version_id = req.query.get("versionId")
        if version_id:  # §B.2: the config resolved from that published version (a v2 revision id works too, §C.1)
            rev = agent.revisions.get(version_id)
            if rev is None or rev.status != "published":
                raise FakeError(404, "Version not found")
            view["_resolvedConfig"] = self.flat_resolved(rev.config)
            view["_configSource"] = "version"
        draft_id = req.query.get("draftId")
        if draft_id:  # §B.2: the config resolved from that draft
            branch = next((b for b in agent.branches.values() if b.draft and b.draft_id == draft_id), None)
            if branch is None:
                raise FakeError(404, "Draft not found")
            head = agent.revisions[branch.head_revision_id] if branch.head_revision_id else None
            view["_resolvedConfig"] = self.flat_resolved(
                self._stored(_deep_merge(head.config if head else default_config(), branch.draft or {}))
            )
            view["_configSource"] = "draft"
        return json_response(200, {"status": True, "data": view})

    def list_agents(self, req: FakeRequest, body: Any) -> FakeResponse:
        archived = req.query.get("archived", "false") == "true"
        search = req.query.get("search", "").lower()
        page, size = int(req.query.get("page", "1")), int(req.query.get("offset", "10"))
        found = [a for a in self.agents.values() if a.archived == archived and search in a.meta["name"].lower()]
        found.sort(key=lambda a: a.created, reverse=req.query.get("sortOrder", "desc") == "desc")
        items = [self.agent_view(a, detail=False) for a in found[(page - 1) * size : page * size]]
        total_pages = max(1, -(-len(found) // size))
        return json_response(
            200,
            {
                "status": True,
                "data": {
                    "agents": items,
                    "hasMore": page * size < len(found),
                    "isSearchResults": bool(search),
                    "totalCount": len(found),
                    "totalPages": total_pages,
                },
            },
        )

    def patch_agent(self, req: FakeRequest, body: Any, agent_id: str) -> FakeResponse:
        agent = self._agent(agent_id)
        body = body if isinstance(body, dict) else {}
        if set(body) - METADATA_FIELDS:
            where = "a branch draft" if agent.versioning == "v2" else "drafts"
            raise FakeError(400, f"Agent has versioning enabled. Config changes must be made through {where}.")
        if not body:
            raise FakeError(400, "No recognized fields in request body")
        self.validate(body, None)
        agent.meta.update(body)
        return json_response(200, {"status": True, "data": agent.id})

    def delete_agent(self, req: FakeRequest, body: Any, agent_id: str) -> FakeResponse:
        return html_404(req.method, req.path)  # §B.5: no hard delete

    def archive_agent(self, req: FakeRequest, body: Any, agent_id: str) -> FakeResponse:
        agent = self._agent(agent_id)
        on = req.query.get("on", "true") != "false"
        if agent.archived == on:
            raise FakeError(409, "Agent is already archived" if on else "Agent is already active")
        agent.archived = on
        return json_response(200, {"status": True, "data": {"message": "Agent archived" if on else "Agent unarchived"}})

    # -- v2 ------------------------------------------------------------------------------------

    def _branch(self, req: FakeRequest, agent_id: str, branch_id: str) -> tuple[Agent, Branch]:
        agent = self._agent(agent_id)
        self._v2_only(agent)
        branch = agent.branches.get(branch_id)
        if branch is None or branch.status != "active":
            raise FakeError(404, "Resource not found")
        return agent, branch

    def list_branches(self, req: FakeRequest, body: Any, agent_id: str) -> FakeResponse:
        agent = self._agent(agent_id)
        self._v2_only(agent)
        self._tick(agent)
        summaries = [self.branch_summary(agent, b) for b in agent.branches.values() if b.status == "active"]
        return json_response(200, {"status": True, "data": {"branches": summaries}})

    def create_branch(self, req: FakeRequest, body: Any, agent_id: str) -> FakeResponse:
        agent = self._agent(agent_id)
        self._v2_only(agent)
        body = body if isinstance(body, dict) else {}
        source = agent.branches.get(str(body.get("sourceBranchId")))
        name = str(body.get("name") or "")
        if source is None or not 1 <= len(name) <= 100:
            raise FakeError(400, "Invalid Input: sourceBranchId and name are required")
        if any(b.name.lower() == name.lower() for b in agent.branches.values() if b.status == "active"):
            raise FakeError(409, f"A branch named {name} already exists", "branch_name_exists")
        if source.head_revision_id is None:
            raise FakeError(409, "The source branch has no commit", "source_has_no_commit")
        if any(r.scan == "queued" and r.branch_id == source.id for r in agent.revisions.values()):
            raise FakeError(409, "The source branch is still scanning", "source_scanning")
        branch = Branch(id=self.new_id(), name=name, is_default=False, source_branch_id=source.id)
        head = agent.revisions[source.head_revision_id]
        rev = Revision(
            id=self.new_id(),
            branch_id=branch.id,
            config=copy.deepcopy(head.config),
            number=1,
            label=f"Branched from {source.name}",
        )
        agent.revisions[rev.id], branch.head_revision_id = rev, rev.id
        agent.branches[branch.id] = branch
        return json_response(201, {"status": True, "data": self.branch_summary(agent, branch)["branch"]})

    def get_branch(self, req: FakeRequest, body: Any, agent_id: str, branch_id: str) -> FakeResponse:
        agent, branch = self._branch(req, agent_id, branch_id)
        self._tick(agent)
        return json_response(200, {"status": True, "data": self.branch_summary(agent, branch)})

    def put_draft(self, req: FakeRequest, body: Any, agent_id: str, branch_id: str) -> FakeResponse:
        agent, branch = self._branch(req, agent_id, branch_id)
        body = dict(body) if isinstance(body, dict) else {}
        expected = body.pop("expectedRevision", None)
        if any(key in SECTIONS and key not in CONFIG_FIELDS for key in body) or not set(body) & CONFIG_FIELDS:
            raise FakeError(400, "No recognized config fields in request body")
        if "workflowType" in body:  # §K.1: set at create, not on a draft
            raise FakeError(
                400, "workflowType cannot be changed on a branch draft; it is set when the agent is created"
            )
        if expected is not None:
            self._check_expected(agent, branch, expected, body)
        head = agent.revisions[branch.head_revision_id] if branch.head_revision_id else None
        ignored = set(self.ignored_draft_fields)
        if "ignore-post-call-analytics" in self.behaviours:
            ignored.add("postCallAnalyticsConfig")
        kept = {k: v for k, v in body.items() if k in CONFIG_FIELDS and k not in ignored}
        for key in sorted(set(body) & CONFIG_FIELDS & ignored):
            self._fired(f"ignored draft field {key}")
            if key == "postCallAnalyticsConfig" and "ignore-post-call-analytics" in self.behaviours:
                self._fired("behaviour ignore-post-call-analytics")
        if "prompt-in-global-prompt" in self.behaviours and isinstance(kept.get("singlePromptConfig"), dict):
            if "prompt" in kept["singlePromptConfig"]:
                self._fired("behaviour prompt-in-global-prompt")
            kept["singlePromptConfig"] = {k: v for k, v in kept["singlePromptConfig"].items() if k != "prompt"}
        if "pro-voice-model" in self.behaviours:
            kept = self._pro_voice(kept)
        draft = _deep_merge(branch.draft or {}, kept)
        merged = _deep_merge(head.config if head else default_config(), draft)
        self.validate(body, merged)
        if not draft:  # accepted, and nothing kept: no draft is opened
            return json_response(
                200,
                {
                    "status": True,
                    "data": {"draftRevision": branch.draft_revision, "status": "draft", "branch": branch.id},
                },
            )
        if branch.draft is None or not branch.draft:
            branch.draft_id = self.new_id()
        branch.draft, branch.scan_blocked = draft, False
        branch.draft_revision += 1
        return json_response(
            200,
            {
                "status": True,
                "data": {
                    "_id": branch.draft_id,
                    "draftId": branch.draft_id,
                    "draftRevision": branch.draft_revision,
                    "status": "draft",
                    "branch": branch.id,
                },
            },
        )

    def _check_expected(self, agent: Agent, branch: Branch, expected: Any, body: dict[str, Any]) -> None:
        """Optimistic concurrency on the open draft's ``draftRevision`` (§K.1, §C.8)."""
        if "concurrent-edit" in self.behaviours and agent.id not in self._edited:
            self._edited.add(agent.id)
            self.open_foreign_draft(agent.id, COLLEAGUE_EDIT)
            self._fired("behaviour concurrent-edit")
        if not isinstance(expected, int) or isinstance(expected, bool) or expected < 0:
            raise FakeError(400, "Invalid Input: expectedRevision: Expected a non-negative integer")
        if expected > branch.draft_revision:
            raise FakeError(409, "base_revision_unavailable")
        if expected != branch.draft_revision:
            changed = sorted(f"{_SECTION_OF.get(k, 'call_handling')}.{k}" for k in (branch.draft or {}))
            payload = {
                "status": False,
                "errors": changed or ["draft changed"],
                "data": {
                    "conflict": {
                        "expectedRevision": expected,
                        "latestRevision": branch.draft_revision,
                        "diffs": [{"path": k, "newValue": v} for k, v in (branch.draft or {}).items()],
                    }
                },
            }
            raise _Conflict(payload)

    def _pro_voice(self, kept: dict[str, Any]) -> dict[str, Any]:
        """§K.4 behaviour: a Pro-pool voice without the Pro model field is not kept (the default voice stays)."""
        voice = (kept.get("synthesizer") or {}).get("voiceConfig") or {}
        pro = {v["voiceId"] for v in self.voices if PRO_MODEL_ID in v.get("models", [])}
        if voice.get("voiceId") in pro and voice.get("modelId") != PRO_MODEL_ID:
            self._fired("behaviour pro-voice-model")
            kept = copy.deepcopy(kept)
            kept["synthesizer"]["voiceConfig"] = {k: v for k, v in voice.items() if k != "voiceId"}
            if not kept["synthesizer"]["voiceConfig"]:
                kept["synthesizer"].pop("voiceConfig")
        return kept

    def get_draft(self, req: FakeRequest, body: Any, agent_id: str, branch_id: str) -> FakeResponse:
        agent, branch = self._branch(req, agent_id, branch_id)
        if not branch.draft:
            raise FakeError(404, "No open draft on this branch")
        return json_response(
            200,
            {
                "status": True,
                "data": {
                    "latest": {"_id": branch.draft_id, "draftRevision": branch.draft_revision, "status": "draft"},
                    "editCount": branch.draft_revision,
                    "editHistory": [],
                },
            },
        )

    def discard_draft(self, req: FakeRequest, body: Any, agent_id: str, branch_id: str) -> FakeResponse:
        agent, branch = self._branch(req, agent_id, branch_id)
        if not branch.draft:
            raise FakeError(404, "No open draft on this branch")
        branch.draft, branch.draft_id, branch.scan_blocked, branch.draft_revision = None, None, False, 0
        return json_response(200, {"status": True, "data": {"discarded": True}})

    def publish_draft(self, req: FakeRequest, body: Any, agent_id: str, branch_id: str) -> FakeResponse:
        agent, branch = self._branch(req, agent_id, branch_id)
        label = str((body or {}).get("label") or "")
        if len(label) > 200 or re.search(r"[+/]", label):
            raise FakeError(400, "Invalid Input")  # [3P] §H.21: `+` and `/` break publish
        if any(r.scan == "queued" and r.branch_id == branch.id for r in agent.revisions.values()):
            raise FakeError(409, "A publish is already in progress on this branch", "publish_in_progress")
        if branch.scan_blocked:
            raise FakeError(409, "The last security scan failed; edit the draft and publish again.")
        if not branch.draft:
            raise FakeError(404, "No open draft on this branch")
        head = agent.revisions[branch.head_revision_id] if branch.head_revision_id else None
        config = self._stored(_deep_merge(head.config if head else default_config(), branch.draft))
        if not str(config.get("firstMessage") or "").strip():
            raise FakeError(400, "A first message is required to publish this agent.")
        rev = Revision(
            id=self.new_id(),
            branch_id=branch.id,
            config=config,
            status="draft",
            label=label,
            scan="queued",
            reads_left=self.scan_reads,
            draft=branch.draft,
        )
        branch.draft, branch.draft_id, branch.draft_revision = None, None, 0
        agent.revisions[rev.id] = rev
        if head is not None and head.config == config:  # no new content: committed without a scan
            self._finish_scan(agent, rev)
            return json_response(
                200, {"status": True, "data": {"state": "committed", "revision": self.revision_view(agent, rev)}}
            )
        return json_response(202, {"status": True, "data": {"state": "scanning"}})

    def list_revisions(self, req: FakeRequest, body: Any, agent_id: str, branch_id: str) -> FakeResponse:
        agent, branch = self._branch(req, agent_id, branch_id)
        self._tick(agent)
        limit = int(req.query.get("limit", "20"))
        revs = [r for r in agent.revisions.values() if r.branch_id == branch.id and (r.number or r.scan != "passed")]
        revs.reverse()
        return json_response(
            200,
            {
                "status": True,
                "data": {"revisions": [self.revision_view(agent, r) for r in revs[:limit]], "total": len(revs)},
            },
        )

    def get_revision(self, req: FakeRequest, body: Any, agent_id: str, branch_id: str, rev_id: str) -> FakeResponse:
        agent, branch = self._branch(req, agent_id, branch_id)
        self._tick(agent)
        rev = agent.revisions.get(rev_id)
        if rev is None:
            raise FakeError(404, "Resource not found")
        if rev.branch_id != branch.id:
            raise FakeError(400, "Revision is not on this branch")
        resolved = self.sections(rev.config) if rev.status == "published" else None
        return json_response(
            200, {"status": True, "data": {"revision": self.revision_view(agent, rev), "resolvedConfig": resolved}}
        )

    def make_live(self, req: FakeRequest, body: Any, agent_id: str, branch_id: str) -> FakeResponse:
        agent, branch = self._branch(req, agent_id, branch_id)
        head = agent.revisions.get(branch.head_revision_id or "")
        if head is None or head.scan != "passed":
            raise FakeError(409, "The branch has no committed revision", "no_committed_revision")
        agent.live_branch_id = branch.id
        return json_response(200, {"status": True, "data": self.branch_summary(agent, branch)})

    def archive_branch(self, req: FakeRequest, body: Any, agent_id: str, branch_id: str) -> FakeResponse:
        agent, branch = self._branch(req, agent_id, branch_id)
        if branch.is_default or agent.live_branch_id == branch.id:
            raise FakeError(403, "The default branch and the live branch cannot be archived")
        branch.status = "archived"
        return json_response(200, {"status": True, "data": {"archived": True}})

    def restore_revision(self, req: FakeRequest, body: Any, agent_id: str, branch_id: str, rev_id: str) -> FakeResponse:
        agent, branch = self._branch(req, agent_id, branch_id)
        rev = agent.revisions.get(rev_id)
        if rev is None or rev.branch_id != branch.id:
            raise FakeError(404, "Resource not found")
        if rev.scan != "passed" or rev.number is None:
            raise FakeError(403, "The source revision has not passed the security scan")
        new = Revision(
            id=self.new_id(),
            branch_id=branch.id,
            config=copy.deepcopy(rev.config),
            label=f"Restored from {rev.label or rev.id}",
        )
        agent.revisions[new.id] = new
        self._finish_scan(agent, new)
        return json_response(
            200, {"status": True, "data": {"state": "committed", "revision": self.revision_view(agent, new)}}
        )

    # -- v1 ------------------------------------------------------------------------------------

    def _v1_draft(self, agent_id: str, draft_id: str) -> tuple[Agent, dict[str, Any]]:
        agent = self._agent(agent_id)
        self._v1_only(agent)
        draft = agent.drafts.get(draft_id)
        if draft is None:
            raise FakeError(404, "Resource not found")
        return agent, draft

    def v1_list_drafts(self, req: FakeRequest, body: Any, agent_id: str) -> FakeResponse:
        agent = self._agent(agent_id)
        self._v1_only(agent)
        drafts = [
            {
                "_id": d,
                "draftId": d,
                "status": "draft",
                "draftName": v.get("name", ""),
                "lastEditorName": v.get("editor", "you"),
            }
            for d, v in agent.drafts.items()
        ]
        return json_response(200, {"status": True, "data": drafts})

    def v1_create_draft(self, req: FakeRequest, body: Any, agent_id: str) -> FakeResponse:
        agent = self._agent(agent_id)
        self._v1_only(agent)
        body = body if isinstance(body, dict) else {}
        source = body.get("sourceVersionId") or body.get("sourceDraftId")
        if not source:
            raise FakeError(400, "Either sourceVersionId or sourceDraftId is required")
        if source not in agent.revisions:
            raise FakeError(400, "sourceVersionId must be a valid version id")
        draft_id = self.new_id()
        agent.drafts[draft_id] = {
            "config": copy.deepcopy(agent.revisions[source].config),
            "name": body.get("draftName", ""),
            "revision": 0,
        }
        return json_response(
            201,
            {
                "status": True,
                "data": {"_id": self.new_id(), "draftId": draft_id, "status": "draft", "draftRevision": 0},
            },
        )

    def v1_get_draft(self, req: FakeRequest, body: Any, agent_id: str, draft_id: str) -> FakeResponse:
        agent = self._agent(agent_id)
        draft = agent.drafts.get(draft_id)
        if draft is None:
            raise FakeError(404, "Resource not found")
        return json_response(
            200,
            {
                "status": True,
                "data": {
                    "latest": {"draftId": draft_id, "status": "draft", "draftRevision": draft["revision"]},
                    "editHistory": [],
                    "editCount": draft["revision"],
                },
            },
        )

    def v1_delete_draft(self, req: FakeRequest, body: Any, agent_id: str, draft_id: str) -> FakeResponse:
        agent = self._agent(agent_id)
        self._v1_only(agent)
        if agent.drafts.pop(draft_id, None) is None:
            raise FakeError(404, "Resource not found")
        return json_response(200, {"status": True, "data": {}})

    def v1_patch_config(self, req: FakeRequest, body: Any, agent_id: str, draft_id: str) -> FakeResponse:
        agent, draft = self._v1_draft(agent_id, draft_id)
        body = body if isinstance(body, dict) else {}
        if not set(body) & CONFIG_FIELDS:
            raise FakeError(400, "No recognized config fields in request body")
        spc = body.get("singlePromptConfig")
        if isinstance(spc, dict) and not isinstance(spc.get("prompt"), str):
            raise FakeError(400, "Invalid Input: singlePromptConfig.prompt: Required")
        merged = _deep_merge(draft["config"], {k: v for k, v in body.items() if k in CONFIG_FIELDS})
        self.validate(body, merged)
        draft["config"], draft["revision"] = merged, draft["revision"] + 1
        return json_response(
            200, {"status": True, "data": {"draftId": draft_id, "draftRevision": draft["revision"], "status": "draft"}}
        )

    def v1_publish(self, req: FakeRequest, body: Any, agent_id: str, draft_id: str) -> FakeResponse:
        agent, draft = self._v1_draft(agent_id, draft_id)
        config = self._stored(draft["config"])
        if not str(config.get("firstMessage") or "").strip():
            raise FakeError(400, "A first message is required to publish this agent.")
        del agent.drafts[draft_id]
        number = 1 + max((r.number or 0) for r in agent.revisions.values())
        label = str((body or {}).get("label") or "")
        rev = Revision(
            id=self.new_id(),
            branch_id=None,
            config=config,
            number=number,
            label=label,
            scan="queued",
            reads_left=self.scan_reads,
        )  # `activate: true` is ignored (§H.2)
        agent.revisions[rev.id] = rev
        return json_response(201, {"status": True, "data": self.revision_view(agent, rev)})

    @staticmethod
    def _version(agent: Agent, version_id: str) -> Revision:
        rev = agent.revisions.get(version_id)
        if rev is None:
            raise FakeError(404, "Resource not found")
        return rev

    def v1_list_versions(self, req: FakeRequest, body: Any, agent_id: str) -> FakeResponse:
        agent = self._agent(agent_id)
        self._v1_only(agent)
        self._tick(agent)
        versions = [self.revision_view(agent, r) for r in reversed(agent.revisions.values())]
        return json_response(200, {"status": True, "data": {"versions": versions, "total": len(versions)}})

    def v1_get_version(self, req: FakeRequest, body: Any, agent_id: str, version_id: str) -> FakeResponse:
        agent = self._agent(agent_id)
        self._tick(agent)
        rev = self._version(agent, version_id)
        return json_response(
            200,
            {
                "status": True,
                "data": {"version": self.revision_view(agent, rev), "resolvedConfig": self.sections(rev.config)},
            },
        )

    def v1_activate(self, req: FakeRequest, body: Any, agent_id: str, version_id: str) -> FakeResponse:
        agent = self._agent(agent_id)
        self._v1_only(agent)
        rev = self._version(agent, version_id)
        if rev.scan != "passed":
            raise FakeError(
                400,
                "Cannot activate: security check pending"
                if rev.scan == "queued"
                else "Cannot activate: security check failed",
            )
        for other in agent.revisions.values():
            other.is_active = False
        rev.is_active, agent.active_version_id = True, rev.id
        return json_response(200, {"status": True, "data": self.revision_view(agent, rev)})

    # -- sandbox controls (not part of the API) -------------------------------------------------

    def open_foreign_draft(self, agent_id: str, change: dict[str, Any]) -> None:
        """Simulate a colleague's unpublished edit on the live branch (or a v1 draft)."""
        agent = self._agent(agent_id)
        if agent.versioning == "v2":
            branch = agent.branches[agent.live_branch_id or ""]
            branch.draft, branch.draft_id = _deep_merge(branch.draft or {}, change), self.new_id()
            branch.draft_revision += 1
        else:
            live = agent.revisions[agent.active_version_id or ""]
            agent.drafts[self.new_id()] = {
                "config": _deep_merge(live.config, change),
                "name": "colleague",
                "revision": 1,
                "editor": "A. Colleague",
            }

    def dashboard_edit(self, agent_id: str, change: dict[str, Any]) -> str:
        """Simulate someone editing the agent in the Atoms dashboard and publishing it: name and
        description change on the agent, config fields become a new live revision (v2) or a new
        active version (v1) that passed its scan. Returns the new revision or version id."""
        agent = self._agent(agent_id)
        agent.meta.update({k: v for k, v in change.items() if k in METADATA_FIELDS})
        config_change = {k: v for k, v in change.items() if k not in METADATA_FIELDS}
        live = self._live_revision(agent)
        if not config_change or live is None:
            return live.id if live else ""
        config = self._stored(_deep_merge(live.config, config_change))
        number = 1 + max((r.number or 0) for r in agent.revisions.values() if r.branch_id == live.branch_id)
        rev = Revision(id=self.new_id(), branch_id=live.branch_id, config=config, number=number, label="Dashboard edit")
        agent.revisions[rev.id] = rev
        if agent.versioning == "v2":
            agent.branches[live.branch_id or ""].head_revision_id = rev.id
        else:
            for other in agent.revisions.values():
                other.is_active = False
            rev.is_active, agent.active_version_id = True, rev.id
        return rev.id

    def summary(self) -> list[dict[str, Any]]:
        out = []
        for agent in self.agents.values():
            live = self._live_revision(agent)
            out.append(
                {
                    "id": agent.id,
                    "name": agent.meta.get("name"),
                    "description": agent.meta.get("description"),
                    "archived": agent.archived,
                    "versioning": agent.versioning,
                    "branches": [b.name for b in agent.branches.values() if b.status == "active"],
                    "live_config": live.config if live else None,
                }
            )
        return out


class _Html(Exception):
    pass


class _Conflict(Exception):
    """A 409 whose body carries ``data.conflict`` (§C.5's rich DraftConflictError variant)."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__("conflict")
        self.payload = payload


_ID = r"([^/]+)"
_ROUTES = [
    ("POST", re.compile(r"/agent"), "create_agent"),
    ("GET", re.compile(r"/agent"), "list_agents"),
    ("GET", re.compile(rf"/agent/{_ID}"), "get_agent"),
    ("PATCH", re.compile(rf"/agent/{_ID}"), "patch_agent"),
    ("DELETE", re.compile(rf"/agent/{_ID}"), "delete_agent"),
    ("DELETE", re.compile(rf"/agent/{_ID}/archive"), "archive_agent"),
    ("GET", re.compile(rf"/agent/{_ID}/branches"), "list_branches"),
    ("POST", re.compile(rf"/agent/{_ID}/branches"), "create_branch"),
    ("GET", re.compile(rf"/agent/{_ID}/branches/{_ID}"), "get_branch"),
    ("PUT", re.compile(rf"/agent/{_ID}/branches/{_ID}/draft"), "put_draft"),
    ("GET", re.compile(rf"/agent/{_ID}/branches/{_ID}/draft"), "get_draft"),
    ("DELETE", re.compile(rf"/agent/{_ID}/branches/{_ID}/draft"), "discard_draft"),
    ("POST", re.compile(rf"/agent/{_ID}/branches/{_ID}/draft/publish"), "publish_draft"),
    ("GET", re.compile(rf"/agent/{_ID}/branches/{_ID}/revisions"), "list_revisions"),
    ("GET", re.compile(rf"/agent/{_ID}/branches/{_ID}/revisions/{_ID}"), "get_revision"),
    ("POST", re.compile(rf"/agent/{_ID}/branches/{_ID}/revisions/{_ID}/restore"), "restore_revision"),
    ("POST", re.compile(rf"/agent/{_ID}/branches/{_ID}/live"), "make_live"),
    ("POST", re.compile(rf"/agent/{_ID}/branches/{_ID}/archive"), "archive_branch"),
    ("GET", re.compile(rf"/agent/{_ID}/drafts"), "v1_list_drafts"),
    ("POST", re.compile(rf"/agent/{_ID}/drafts"), "v1_create_draft"),
    ("GET", re.compile(rf"/agent/{_ID}/drafts/{_ID}"), "v1_get_draft"),
    ("DELETE", re.compile(rf"/agent/{_ID}/drafts/{_ID}"), "v1_delete_draft"),
    ("PATCH", re.compile(rf"/agent/{_ID}/drafts/{_ID}/config"), "v1_patch_config"),
    ("POST", re.compile(rf"/agent/{_ID}/drafts/{_ID}/publish"), "v1_publish"),
    ("GET", re.compile(rf"/agent/{_ID}/versions"), "v1_list_versions"),
    ("GET", re.compile(rf"/agent/{_ID}/versions/{_ID}"), "v1_get_version"),
    ("PATCH", re.compile(rf"/agent/{_ID}/versions/{_ID}/activate"), "v1_activate"),
]
