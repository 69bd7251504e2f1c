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


class ToolTable(_Strict):
    """Tool kinds no transform maps one-to-one (elevenlabs-convai-api.md §A.8.2, §C.3)."""

    system_tools: dict[str, ToolRule] = {}  # params.system_tool_type -> rule
    tool_types: dict[str, ToolRule] = {}  # tool_config.type (other than webhook and system) -> rule
    transfer_destinations: dict[str, ToolRule] = {}  # transfer_destination.type (other than phone) -> rule


class ConceptTable(_Strict):
    concepts: list[Concept]
    containers: list[str] = Field(default=[], description="Structural paths never reported as one unknown block.")
    rules: list[PrefixRule] = []
    system_variables: dict[str, str | None] = {}
    defaults: dict[str, Any] = {}
    # Atoms target path (``*`` for any key or list index) -> the range every number written there is clamped to.
    ranges: dict[str, NumberRange] = {}
    tools: ToolTable = ToolTable()


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
        description="Atoms language code -> catalog voices that speak it (offline candidates; the first of a gender is the fallback)",
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
