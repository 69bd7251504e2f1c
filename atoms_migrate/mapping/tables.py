"""The mapping tables: pydantic schemas for ``mappings/*.yaml`` and the one loader.

Tables are our own data, so every model forbids unknown keys. ``load_tables`` is the only
function that reads YAML tables; a validation problem becomes a ``MappingTableError`` whose
lines name the file, the location inside it and the line number. ``--mappings DIR``
overlays a directory file by file: a table present in DIR replaces the built-in one.
"""

from __future__ import annotations

import fnmatch
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from atoms_migrate.errors import MappingTableError
from atoms_migrate.paths import parse_path
from atoms_migrate.source.bounds import InputTooLarge, check_file, check_value

TABLE_FILES = ("concepts.yaml", "voices.yaml", "llms.yaml", "languages.yaml", "scan.yaml")


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


def builtin_dir() -> Path:
    """The tables shipped with the package (wheel), else the repository's ``mappings/``."""
    packaged = resources.files("atoms_migrate") / "mappings"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent.parent / "mappings"


_MODELS: dict[str, type[BaseModel]] = {
    "concepts.yaml": ConceptTable,
    "voices.yaml": VoiceTable,
    "llms.yaml": LlmTable,
    "languages.yaml": LanguageTable,
    "scan.yaml": ScanTable,
}


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Walk a composed YAML node along a pydantic ``loc`` to find a line number."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _read_table(path: Path, name: str) -> tuple[BaseModel | None, list[str]]:
    try:
        check_file(path)  # a FIFO or device would block or never end
        text = path.read_text(encoding="utf-8")
    except InputTooLarge as exc:
        return None, [f"{path}: {exc}"]
    except OSError as exc:
        return None, [f"{path}: cannot read ({exc.strerror})"]
    except UnicodeDecodeError as exc:
        return None, [f"{path}: not UTF-8 text (byte {exc.start}); save the table as UTF-8"]
    try:
        # libyaml when present (every `scan` and `agent` run reads all tables); the node tree for
        # line numbers is composed only when validation fails.
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        check_value(data)
    except InputTooLarge as exc:
        return None, [f"{path}: {exc}"]
    except (RecursionError, ValueError) as exc:
        return None, [
            f"{path}: not a usable YAML table ({'nested too deeply' if isinstance(exc, RecursionError) else str(exc)[:160]})"
        ]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        return None, [f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})"]
    try:
        return _MODELS[name].model_validate(data), []
    except ValidationError as exc:
        root = yaml.compose(text)
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = _line_of(root, loc)
            problems.append(f"{path}:{line or '?'}: {_format_loc(loc)}: {err['msg']}")
        return None, problems


def _cross_check(tables: dict[str, Any], sources: dict[str, str]) -> list[str]:
    """Rules that span tables: transform names exist, targets are valid Atoms values."""
    from atoms_migrate.mapping.transforms import TRANSFORMS  # local: transforms import this module

    problems: list[str] = []
    concepts: ConceptTable = tables["concepts.yaml"]
    for i, concept in enumerate(concepts.concepts):
        if concept.transform not in TRANSFORMS:
            known = ", ".join(sorted(TRANSFORMS))
            problems.append(
                f"{sources['concepts.yaml']}: concepts[{i}].transform: unknown transform "
                f"{concept.transform!r} (known: {known})"
            )
    for pattern, limits in concepts.ranges.items():
        try:
            parse_path(pattern)
        except ValueError as exc:
            problems.append(f"{sources['concepts.yaml']}: ranges.{pattern}: {exc}")
        if limits.min > limits.max:
            problems.append(f"{sources['concepts.yaml']}: ranges.{pattern}: min {limits.min} is above max {limits.max}")
    ids = [c.id for c in concepts.concepts]
    for dup in sorted({x for x in ids if ids.count(x) > 1}):
        problems.append(f"{sources['concepts.yaml']}: concepts: duplicate id {dup!r}")
    llms: LlmTable = tables["llms.yaml"]
    for i, rule in enumerate(llms.rules):
        if rule.target not in llms.targets:
            problems.append(
                f"{sources['llms.yaml']}: rules[{i}].target: {rule.target!r} is not an Atoms slmModel ({', '.join(llms.targets)})"
            )
    langs: LanguageTable = tables["languages.yaml"]
    for code, target in langs.codes.items():
        if target not in langs.atoms_codes:
            problems.append(f"{sources['languages.yaml']}: codes.{code}: {target!r} is not an Atoms language code")
    if langs.fallback_default not in langs.atoms_codes:
        problems.append(
            f"{sources['languages.yaml']}: fallback_default: {langs.fallback_default!r} is not an Atoms language code"
        )
    voices: VoiceTable = tables["voices.yaml"]
    for code in voices.language_voices:
        if code not in langs.atoms_codes:
            problems.append(f"{sources['voices.yaml']}: language_voices: {code!r} is not an Atoms language code")
    seen = [v.elevenlabs_id for v in voices.voices]
    for dup in sorted({x for x in seen if seen.count(x) > 1}):
        problems.append(f"{sources['voices.yaml']}: voices: duplicate elevenlabs_id {dup!r}")
    return problems + _check_scan(tables["scan.yaml"], sources["scan.yaml"])


def _check_scan(scan: ScanTable, where: str) -> list[str]:
    """Regexes compile, ids are unique, a name belongs to one rule per matcher, fixes are mechanical."""
    problems: list[str] = []
    for label, pattern in (
        ("trigger", scan.trigger),
        ("agent_id", scan.agent_id),
        ("other_api.literal", scan.other_api.literal),
        ("other_api.sdk_rest", scan.other_api.sdk_rest),
    ):
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append(f"{where}: {label}: not a valid regex ({exc})")
    ids = [r.id for r in scan.rules]
    for dup in sorted({x for x in ids if ids.count(x) > 1}):
        problems.append(f"{where}: rules: duplicate id {dup!r}")
    owners: dict[tuple[str, str], str] = {}
    for i, rule in enumerate(scan.rules):
        matchers = rule.match.model_dump()
        if rule.kind != "info" and not any(matchers.values()):
            problems.append(f"{where}: rules[{i}].match: {rule.id} matches nothing")
        for matcher, values in matchers.items():
            for j, value in enumerate(values):
                if matcher in SCAN_REGEX_MATCHERS:
                    try:
                        re.compile(value)
                    except re.error as exc:
                        problems.append(f"{where}: rules[{i}].match.{matcher}[{j}]: not a valid regex ({exc})")
                    continue
                owner = owners.setdefault((matcher, value), rule.id)
                if owner != rule.id:
                    problems.append(f"{where}: rules[{i}].match.{matcher}: {value!r} already belongs to {owner}")
        if rule.fix and rule.kind != "mechanical":
            problems.append(
                f"{where}: rules[{i}].fix: only mechanical rules may carry a fix ({rule.id} is {rule.kind})"
            )
    return problems


def check_tables(directory: Path | None = None) -> tuple[MappingTables | None, list[str]]:
    """Load and validate every table; return the tables (or None) and all problems found."""
    base = builtin_dir()
    tables: dict[str, Any] = {}
    sources: dict[str, str] = {}
    problems: list[str] = []
    if directory is not None and not directory.is_dir():
        return None, [f"{directory}: not a directory"]
    for name in TABLE_FILES:
        override = directory / name if directory is not None else None
        # exists(), not is_file(): an override that is a FIFO or a device is reported, not silently replaced
        path = override if override is not None and (override.exists() or override.is_symlink()) else base / name
        sources[name] = str(path)
        model, errs = _read_table(path, name)
        problems.extend(errs)
        if model is not None:
            tables[name] = model
    if problems:
        return None, problems
    problems = _cross_check(tables, sources)
    if problems:
        return None, problems
    return (
        MappingTables(
            concepts=tables["concepts.yaml"],
            voices=tables["voices.yaml"],
            llms=tables["llms.yaml"],
            languages=tables["languages.yaml"],
            scan=tables["scan.yaml"],
            sources=sources,
        ),
        [],
    )


def load_tables(directory: Path | None = None) -> MappingTables:
    tables, problems = check_tables(directory)
    if tables is None:
        raise MappingTableError(problems)
    return tables
