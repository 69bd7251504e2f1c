"""The agent's languages: default, supported list, switching (Atoms §F.1, §H.8)."""

from __future__ import annotations

from typing import Any

from atoms_migrate import paths
from atoms_migrate.mapping.context import MapContext
from atoms_migrate.mapping.schema import EL_LANGUAGE, Concept
from atoms_migrate.mapping.transforms.common import (
    LANGUAGES_FILE,
    elevenlabs_text,
    source_value,
)
from atoms_migrate.model import ChangeStatus

_RULE = f"{LANGUAGES_FILE}#codes"


def language(ctx: MapContext, concept: Concept) -> None:
    """Atoms §F.1: default in supported, `ta` alone, switching always sent (§H.8)."""
    found = source_value(ctx, concept)
    default_path = found[0] if found else concept.source
    default = _primary_language(ctx, concept, found, default_path)
    supported = _supported_languages(ctx, concept, default, default_path)
    # Source path: the primary language. Preset keys are not leaves, and covering the whole
    # language_presets subtree here would hide the per-language overrides it holds.
    ctx.assign(concept, "language.supported", supported, default_path, rule=_RULE)
    _switching(ctx, concept, supported, default_path)


def _primary_language(ctx: MapContext, concept: Concept, found: tuple[str, Any] | None, default_path: str) -> str:
    """Plan ``language.default``: the source's language, ElevenLabs' default when absent, the fallback otherwise."""
    table = ctx.tables.languages
    source_code = (
        found[1] if found and isinstance(found[1], str) and found[1].strip() else elevenlabs_text(ctx, EL_LANGUAGE)
    )
    default = table.to_atoms(source_code)
    if found and not isinstance(found[1], str):
        # A wrong type is not a language: say so instead of reading it as ElevenLabs' default.
        default = default or table.fallback_default  # a --mappings table whose ElevenLabs default Atoms lacks
        ctx.finding(
            default_path,
            "unmapped",
            "error",
            f"Expected a language code such as 'en', found {type(found[1]).__name__} {found[1]!r:.60}; "
            f"the plan uses {default!r} until it is fixed.",
            "Fix the value in the source config.",
            concept,
        )
        ctx.assign(concept, "language.default", default, default_path, "defaulted", rule=_RULE)
    elif default is None:
        default = table.fallback_default
        ctx.finding(
            default_path,
            "unmapped",
            "error",
            f"Primary language {source_code!r} cannot be represented on Atoms (agent languages: "
            f"{', '.join(table.atoms_codes)}); "
            f"the plan uses {default!r}.",
            "Check that the agent can serve callers in a supported language before migrating.",
            concept,
        )
        ctx.assign(concept, "language.default", default, default_path, "defaulted", rule=_RULE)
    else:
        status: ChangeStatus = "mapped" if found else "defaulted"
        note = "" if found else f"No language in the source: ElevenLabs' default {source_code}."
        ctx.assign(concept, "language.default", default, default_path, status, note, rule=_RULE)
    return default


def _supported_languages(ctx: MapContext, concept: Concept, default: str, default_path: str) -> list[str]:
    """The primary language, then each language preset Atoms can speak; an exclusive code stands alone."""
    table = ctx.tables.languages
    supported = [default]
    preset_paths: dict[str, str] = {}
    presets = ctx.get("conversation_config.language_presets")
    for code in presets if isinstance(presets, dict) else {}:
        atoms = table.to_atoms(str(code))
        preset_path = paths.join("conversation_config.language_presets", str(code))
        if atoms is None:
            ctx.finding(
                preset_path,
                "unmapped",
                "warning",
                (
                    f"Language preset {code!r} cannot be represented on Atoms; callers in it are not served in their "
                    "language."
                ),
                f"Atoms agent languages are {', '.join(table.atoms_codes)}.",
                concept,
            )
        elif atoms not in supported:
            supported.append(atoms)
            preset_paths[atoms] = preset_path
    for code in table.exclusive:
        if code in supported and len(supported) > 1:
            dropped = [c for c in supported if c != code] if default == code else [code]
            supported = [code] if default == code else [c for c in supported if c != code]
            for lost in dropped:
                # The finding covers only the dropped language's own preset: its overrides go with it.
                ctx.finding(
                    preset_paths.get(lost, default_path),
                    "lossy",
                    "warning",
                    f"Atoms cannot combine {code!r} with other languages; {lost!r} is dropped.",
                    "Migrate a second agent for the other languages if you need them.",
                    concept,
                )
    return supported


def _switching(ctx: MapContext, concept: Concept, supported: list[str], default_path: str) -> None:
    """``language.switching`` is always sent with ``language`` (§H.8): on when language_detection has a choice."""
    detection = ctx.system_tools.get("language_detection", [])
    switching = bool(detection) and len(supported) > 1
    if detection:
        ref = detection[0]
        note = "" if switching else "language_detection is on, but there is only one Atoms language to switch to."
        ctx.assign(
            concept,
            "language.switching",
            {"isEnabled": switching},
            ref.source_path,
            "mapped" if switching else "lossy",
            note,
        )
    else:
        ctx.assign(
            concept,
            "language.switching",
            {"isEnabled": False},
            default_path,
            "defaulted",
            "No language_detection tool: switching off (Atoms needs `switching` whenever `language` is sent).",
        )
