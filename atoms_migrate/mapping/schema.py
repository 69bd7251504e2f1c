"""Pydantic schemas of the mapping tables (``mappings/*.yaml``): our own data, so every model forbids unknown keys.

Loading and cross-checking the files is ``tables``; everything that only reads a table (the engine, the
transforms, voices, scan) imports its model from here.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from atoms_migrate.paths import parse_path


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_path(value: str) -> str:
    parse_path(value)  # raises ValueError with a readable message
    return value


class Concept(_Strict):
    """One mapping rule: a source path, the Atoms field(s) it feeds and a named transform."""

    id: str
    source: str
    target: list[str]
    transform: str
    rule: str = Field(description="One sentence stating the rule, shown in reports.")
    fallback_sources: list[str] = []
    params: dict[str, Any] = {}

    @field_validator("target", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("source")
    @classmethod
    def _source_path(cls, v: str) -> str:
        return _check_path(v)


class PrefixRule(_Strict):
    """A source subtree with a known fate: ignored with a reason, or reported."""

    prefix: str
    reason: str = ""
    status: Literal["ignored", "unmapped", "lossy"] = "ignored"
    severity: Literal["error", "warning", "info"] = "info"
    hint: str = ""
    # A value in this list is the ElevenLabs default / "off": reported as ignored-info instead.
    quiet_values: list[Any] = []

    @field_validator("prefix")
    @classmethod
    def _prefix_path(cls, v: str) -> str:
        return _check_path(v)


class NumberRange(_Strict):
    """The values an Atoms number field accepts (smallest-atoms-api.md §B.1, §B.8, §E.1)."""

    min: float
    max: float
    integer: bool = False
    reference: str = Field(description="Where the range comes from, shown in the clamp finding.")


class ToolRule(_Strict):
    """What Atoms can and cannot do for one ElevenLabs tool kind, tool type or transfer destination."""

    status: Literal["unmapped", "lossy", "ignored"] = "unmapped"
    severity: Literal["error", "warning", "info"] = "warning"
    atoms: str = Field(description="What Atoms offers instead, or why it cannot (the finding's message).")
    hint: str = ""


class ToolMessage(_Strict):
    """The finding for a tool type Atoms has no tool for.

    ``message`` is a ``str.format`` template of {name} and {kind}.
    """

    severity: Literal["error", "warning", "info"] = "error"
    message: str
    hint: str

    @field_validator("message")
    @classmethod
    def _template(cls, v: str) -> str:
        try:
            v.format(name="tool", kind="kind")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"not a template of {{name}} and {{kind}} ({exc})") from exc
        return v


class TransferType(_Strict):
    """How an ElevenLabs ``transfer_type`` is carried out on Atoms (``transferOption.type``, Atoms §D)."""

    option: Literal["warm_transfer", "cold_transfer"]
    lossy: str = Field(default="", description="Why the Atoms transfer differs, when it does (the change's note).")


class TransferTypes(_Strict):
    default: str = Field(description="ElevenLabs' transfer_type when the source sets none")
    types: dict[str, TransferType]


class ToolTable(_Strict):
    """Tool kinds no transform maps one-to-one (elevenlabs-convai-api.md §A.8.2, §C.3).

    Also the tool data the transforms read: unsupported types, end-session names, transfer types.
    """

    system_tools: dict[str, ToolRule] = {}  # params.system_tool_type -> rule
    tool_types: dict[str, ToolRule] = {}  # tool_config.type (other than webhook and system) -> rule
    transfer_destinations: dict[str, ToolRule] = {}  # transfer_destination.type (other than phone) -> rule
    # tool_config.type -> the finding, for types reported with a message of their own (client, mcp).
    unsupported_types: dict[str, ToolMessage]
    unknown_type: ToolMessage = Field(description="The finding for a tool type in no list")
    end_session_names: list[str] = Field(
        description="Client-tool names (snake_case) whose job is to end the session: the hint points at end_call"
    )
    transfers: TransferTypes


# The ElevenLabs server defaults the transforms read (an absent field means this value on ElevenLabs).
EL_LANGUAGE = "conversation_config.agent.language"
EL_VOICE_ID = "conversation_config.tts.voice_id"
EL_TURN_TIMEOUT = "conversation_config.turn.turn_timeout"
_EL_DEFAULTS_READ: dict[str, type | tuple[type, ...]] = {
    EL_LANGUAGE: str,
    EL_VOICE_ID: str,
    EL_TURN_TIMEOUT: (int, float),
}


class ConceptDefaults(_Strict):
    """Values the mapping falls back to (concepts.yaml ``defaults``)."""

    unnamed_agent: str = Field(description="Placeholder name used in messages")
    audio_tags: list[str] = Field(default=[], description="regexes of ElevenLabs v3 audio tags")
    audio_tags_v3: str | None = Field(default=None, description="regex: any bracket an eleven_v3 model treats as a tag")
    # ElevenLabs server defaults for absent fields, by source path; ELEVENLABS_DEFAULTS_READ must be present.
    elevenlabs_defaults: dict[str, bool | int | float | str]
    knowledge_base_name_max: int = Field(ge=1, description="Atoms knowledge-base names are at most this long")

    @field_validator("elevenlabs_defaults")
    @classmethod
    def _read_defaults(cls, v: dict[str, bool | int | float | str]) -> dict[str, bool | int | float | str]:
        for key, kind in _EL_DEFAULTS_READ.items():
            value = v.get(key)
            if value is None or isinstance(value, bool) or not isinstance(value, kind):
                raise ValueError(f"{key} must be set (the mapping reads it when the source leaves it out)")
        return v

    @field_validator("audio_tags")
    @classmethod
    def _regexes(cls, v: list[str]) -> list[str]:
        for pattern in v:
            re.compile(pattern)  # re.error is a ValueError: reported with the file and line
        return v


class MetricTable(_Strict):
    """Post-call metrics: ElevenLabs data-collection types -> Atoms dispositionMetricType (Atoms §B.8)."""

    types: dict[str, Literal["BOOLEAN", "STRING", "INTEGER", "ENUM"]]
    lossy_types: dict[str, str] = Field(default={}, description="type -> why its values lose meaning on Atoms")
    evaluation_choices: list[str] = Field(description="ENUM choices of an evaluation criterion, as ElevenLabs' result")


class ConceptTable(_Strict):
    concepts: list[Concept]
    containers: list[str] = Field(default=[], description="Structural paths never reported as one unknown block.")
    rules: list[PrefixRule] = []
    system_variables: dict[str, str | None] = {}
    atoms_system_variables: list[str] = Field(
        description="Variables Atoms fills at call time (Atoms §F.4): never reported as unset"
    )
    defaults: ConceptDefaults
    # Atoms target path (``*`` for any key or list index) -> the range every number written there is clamped to.
    ranges: dict[str, NumberRange] = {}
    tools: ToolTable
    metrics: MetricTable


class VoiceEntry(_Strict):
    elevenlabs_id: str
    elevenlabs_name: str
    target: str
    gender: Literal["male", "female"]
    accent: str
    language: str
    confidence: Literal["high", "medium", "low"]
    rationale: str


class VoiceFallback(_Strict):
    target: str
    gender: Literal["male", "female"]
    rationale: str


class LanguageVoice(_Strict):
    target: str
    gender: Literal["male", "female"]
    accent: str | None = None
    rationale: str = ""


class VoiceTable(_Strict):
    model: str
    fallback: VoiceFallback
    voices: list[VoiceEntry]
    language_voices: dict[str, list[LanguageVoice]] = Field(
        default={},
        description=(
            "Atoms language code -> catalog voices that speak it (offline candidates; the first of a "
            "gender is the fallback)"
        ),
    )

    def lookup(self, voice_id: str) -> VoiceEntry | None:
        return next((v for v in self.voices if v.elevenlabs_id == voice_id), None)

    def fallback_for(self, language: str | None, gender: str | None = None) -> VoiceFallback:
        """The offline fallback voice for an agent language (and the source voice's gender when known)."""
        voices = self.language_voices.get(language or "", [])
        chosen = next((v for v in voices if v.gender == gender), voices[0] if voices else None)
        if chosen is None:
            return self.fallback
        return VoiceFallback(
            target=chosen.target,
            gender=chosen.gender,
            rationale=chosen.rationale
            or f"Voice not in the premade table; {chosen.target} speaks the agent's language ({language}).",
        )


class LlmRule(_Strict):
    match: str = Field(description="fnmatch pattern on the ElevenLabs llm value")
    target: str
    status: Literal["mapped", "lossy", "unmapped"]
    note: str


class LlmTable(_Strict):
    targets: list[str]
    gated: list[str] = []
    rules: list[LlmRule]

    def lookup(self, llm: str) -> LlmRule | None:
        return next((r for r in self.rules if fnmatch.fnmatchcase(llm, r.match)), None)


class LanguageTable(_Strict):
    atoms_codes: list[str]
    exclusive: list[str] = Field(default=[], description="Codes that cannot be combined with others")
    fallback_default: str
    codes: dict[str, str]

    def to_atoms(self, code: Any) -> str | None:
        """An ElevenLabs language code (``es``, ``en-US``) as an Atoms code, or None when Atoms has none."""
        if not isinstance(code, str) or not code.strip():
            return None
        code = code.strip().lower()
        return self.codes.get(code) or self.codes.get(re.split(r"[-_]", code)[0])


class ScanFix(_Strict):
    """How ``scan --fix`` ports a construct: only as part of a whole unit (guide §6, §7)."""

    unit: Literal["raw-websocket"]
    rename: str | None = Field(default=None, description="the construct's name on Atoms, where it has one")


class ScanMatch(_Strict):
    """Where a rule's construct is found, by syntax (see the header of mappings/scan.yaml)."""

    literal: list[str] = Field(default=[], description="regexes searched in string literals")
    header: list[str] = []
    event_type: list[str] = []
    message_type: list[str] = []
    message_key: list[str] = []
    event_field: list[str] = []
    module: list[str] = []
    sdk_symbol: list[str] = []
    sdk_member: list[str] = []
    sdk_option: list[str] = []
    sdk_rest: list[str] = Field(default=[], description="regexes on attribute chains of an ElevenLabs client")
    element: list[str] = []
    env: list[str] = []
    voice_key: list[str] = []


SCAN_REGEX_MATCHERS = ("literal", "sdk_rest")


class ScanRule(_Strict):
    """One ElevenLabs construct in client code and what replaces it (mappings/scan.yaml)."""

    id: str = Field(pattern=r"^[A-Z][A-Z0-9-]+$")
    elevenlabs: str = Field(description="the ElevenLabs construct, as a reader would name it")
    replacement: str
    kind: Literal["mechanical", "redesign", "info"]
    seed: str = Field(
        pattern=r"^A\.(?:[0-9]|1[01])$", description="the migration-guide section it ports (smallest-atoms-api.md §A)"
    )
    match: ScanMatch
    help: str
    fix: ScanFix | None = None


class OtherApi(_Strict):
    """ElevenLabs APIs that are not agent code (TTS, STT, voices): one info line per file."""

    literal: str
    sdk_rest: str


class ScanTable(_Strict):
    trigger: str
    agent_id: str
    other_api: OtherApi
    rules: list[ScanRule]


class MappingTables(_Strict):
    concepts: ConceptTable
    voices: VoiceTable
    llms: LlmTable
    languages: LanguageTable
    scan: ScanTable
    sources: dict[str, str] = Field(description="table file name -> where it was loaded from")
