"""The one loader of the mapping tables (``mappings/*.yaml``) and the checks that span them.

The tables' pydantic schemas are ``schema`` (re-exported here, where callers outside the mapping
have always found them). ``load_tables`` is the only function that reads YAML tables; a
validation problem becomes a ``MappingTableError`` whose lines name the file, the location
inside it and the line number. ``--mappings DIR`` overlays a directory file by file: a table
present in DIR replaces the built-in one. A concept naming a transform the code does not have
is a table error too, so the loader checks names against the transforms' registry.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from atoms_migrate.errors import MappingTableError
from atoms_migrate.mapping.schema import (
    SCAN_REGEX_MATCHERS,
    Concept,
    ConceptTable,
    LanguageTable,
    LanguageVoice,
    LlmRule,
    LlmTable,
    MappingTables,
    NumberRange,
    OtherApi,
    PrefixRule,
    ScanFix,
    ScanMatch,
    ScanRule,
    ScanTable,
    ToolRule,
    ToolTable,
    VoiceEntry,
    VoiceFallback,
    VoiceTable,
)
from atoms_migrate.mapping.transforms import TRANSFORMS
from atoms_migrate.paths import parse_path
from atoms_migrate.source.bounds import InputTooLarge, check_file, check_value

__all__ = [
    "SCAN_REGEX_MATCHERS",
    "TABLE_FILES",
    "Concept",
    "ConceptTable",
    "LanguageTable",
    "LanguageVoice",
    "LlmRule",
    "LlmTable",
    "MappingTables",
    "NumberRange",
    "OtherApi",
    "PrefixRule",
    "ScanFix",
    "ScanMatch",
    "ScanRule",
    "ScanTable",
    "ToolRule",
    "ToolTable",
    "VoiceEntry",
    "VoiceFallback",
    "VoiceTable",
    "builtin_dir",
    "check_tables",
    "load_tables",
]

TABLE_FILES = ("concepts.yaml", "voices.yaml", "llms.yaml", "languages.yaml", "scan.yaml")


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
            (
                f"{path}: not a usable YAML table "
                f"({'nested too deeply' if isinstance(exc, RecursionError) else str(exc)[:160]})"
            )
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
    langs: LanguageTable = tables["languages.yaml"]
    return (
        _check_concepts(tables["concepts.yaml"], sources["concepts.yaml"])
        + _check_llms(tables["llms.yaml"], sources["llms.yaml"])
        + _check_languages(langs, sources["languages.yaml"])
        + _check_voices(tables["voices.yaml"], set(langs.atoms_codes), sources["voices.yaml"])
        + _check_scan(tables["scan.yaml"], sources["scan.yaml"])
    )


def _duplicates(values: list[str]) -> list[str]:
    return sorted({x for x in values if values.count(x) > 1})


def _check_concepts(concepts: ConceptTable, where: str) -> list[str]:
    """Every concept names a transform the code has; ranges are valid paths with min <= max; ids are unique."""
    problems: list[str] = []
    for i, concept in enumerate(concepts.concepts):
        if concept.transform not in TRANSFORMS:
            known = ", ".join(sorted(TRANSFORMS))
            problems.append(
                f"{where}: concepts[{i}].transform: unknown transform {concept.transform!r} (known: {known})"
            )
    for pattern, limits in concepts.ranges.items():
        try:
            parse_path(pattern)
        except ValueError as exc:
            problems.append(f"{where}: ranges.{pattern}: {exc}")
        if limits.min > limits.max:
            problems.append(f"{where}: ranges.{pattern}: min {limits.min} is above max {limits.max}")
    for dup in _duplicates([c.id for c in concepts.concepts]):
        problems.append(f"{where}: concepts: duplicate id {dup!r}")
    return problems


def _check_llms(llms: LlmTable, where: str) -> list[str]:
    return [
        f"{where}: rules[{i}].target: {rule.target!r} is not an Atoms slmModel ({', '.join(llms.targets)})"
        for i, rule in enumerate(llms.rules)
        if rule.target not in llms.targets
    ]


def _check_languages(langs: LanguageTable, where: str) -> list[str]:
    problems = [
        f"{where}: codes.{code}: {target!r} is not an Atoms language code"
        for code, target in langs.codes.items()
        if target not in langs.atoms_codes
    ]
    if langs.fallback_default not in langs.atoms_codes:
        problems.append(f"{where}: fallback_default: {langs.fallback_default!r} is not an Atoms language code")
    return problems


def _check_voices(voices: VoiceTable, atoms_codes: set[str], where: str) -> list[str]:
    problems = [
        f"{where}: language_voices: {code!r} is not an Atoms language code"
        for code in voices.language_voices
        if code not in atoms_codes
    ]
    for dup in _duplicates([v.elevenlabs_id for v in voices.voices]):
        problems.append(f"{where}: voices: duplicate elevenlabs_id {dup!r}")
    return problems


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
