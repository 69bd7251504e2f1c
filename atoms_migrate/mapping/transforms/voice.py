"""The voice: premade table, catalog suggestion, clone or fallback (Atoms §A.9, §H.22, §K.4), the TTS
model, and the background sound.
"""

from __future__ import annotations

from typing import Any

from atoms_migrate.mapping.context import MapContext
from atoms_migrate.mapping.refs import is_ref
from atoms_migrate.mapping.schema import EL_VOICE_ID, Concept
from atoms_migrate.mapping.transforms.common import (
    VOICES_FILE,
    elevenlabs_text,
    enum_value,
    planned,
    source_value,
    wrong_type,
)
from atoms_migrate.mapping.voices import language_name, pick_voice
from atoms_migrate.model import ChangeStatus, Step


def voice(ctx: MapContext, concept: Concept) -> None:
    """EL voice ids never work on Atoms (Atoms §A.9, §H.22): table, suggestion, clone or fallback.

    Premade voices go through the voice table. Others are matched by their ElevenLabs labels
    (when read) against the live catalog, or cloned with --clone-voices. With a catalog, a
    planned voice that is not in it is an error and is not sent (Atoms would reject it).
    """
    voices = ctx.tables.voices
    found = source_value(ctx, concept)
    path = found[0] if found else concept.source
    voice_id = found[1] if found else elevenlabs_text(ctx, EL_VOICE_ID)
    if not isinstance(voice_id, str) or not voice_id.strip():
        wrong_type(ctx, concept, path, "a voice id", voice_id)
        return
    base = concept.target[0]
    choice = choose_voice(ctx, voice_id, path, concept, planned(ctx, "language.default"))
    if choice is not None:
        target, gender, status, note, rule = choice
        if not found:
            status = "defaulted"
        ctx.assign(concept, f"{base}.voiceId", target, path, status, note, rule=rule)
        if gender:  # a fact about the chosen Atoms voice, not a second approximation
            ctx.assign(concept, f"{base}.gender", gender, path, "defaulted" if not found else "mapped", rule=rule)
    if not ctx.has("conversation_config.tts.model_id"):
        ctx.assign(concept, f"{base}.model", voices.model, path, "defaulted", rule=f"{VOICES_FILE}#model")


def _voice_languages(ctx: MapContext, concept: Concept, pick: Any, path: str) -> None:
    """Atoms §K.4: the voice must speak the agent's languages; say which ones it does not."""
    if pick.languages is None or pick.target is None:
        return
    supported = planned(ctx, "language.supported") or []
    names = {code: name for code in supported if isinstance(code, str) and (name := language_name(code))}
    missing = [code for code, name in names.items() if name not in pick.languages]
    if not missing:
        return
    default = planned(ctx, "language.default")
    primary = default in missing
    ctx.finding(
        path,
        "lossy",
        "warning",
        f"Voice {pick.target!r} speaks {', '.join(pick.languages)}, not {', '.join(names[c] for c in missing)} "
        f"({', '.join(missing)}{', the primary language' if primary else ''}); callers hear it with the wrong "
        "accent or not at all.",
        "Choose a catalog voice that speaks every language of the agent (`atoms-migrate voices SOURCE`), "
        "or set one in mappings/voices.yaml (language_voices).",
        concept,
    )


def choose_voice(
    ctx: MapContext, voice_id: str, path: str, concept: Concept, language: str | None = None
) -> tuple[str, str | None, ChangeStatus, str, str] | None:
    """(Atoms voice id, gender, status, note, rule) for one ElevenLabs voice, or None (error reported)."""
    options = ctx.options
    pick = pick_voice(
        voice_id,
        ctx.tables.voices,
        ctx.source.voices.get(voice_id),
        options.catalog,
        options.clone_voices,
        dict(options.clones),
        language=language,
    )
    _voice_languages(ctx, concept, pick, path)
    alternatives = ", ".join(f"{s.voice.voice_id} ({s.confidence})" for s in pick.alternatives) or "none"
    if pick.target is None:
        ctx.finding(
            path,
            "unmapped",
            "error",
            (
                f"Voice for {pick.traits.name} ({voice_id}): {pick.rationale}, so no voice is sent (Atoms would reject "
                "it)."
            ),
            f"Nearest catalog voices: {alternatives}; set one in mappings/voices.yaml (--mappings).",
            concept,
        )
        return None
    rule = f"{VOICES_FILE}#{voice_id if pick.basis == 'table' else pick.basis}"
    note = f"{pick.traits.name} -> {pick.target} ({pick.confidence} confidence): {pick.rationale}"
    if pick.basis == "clone":
        ctx.finding(
            path,
            "lossy",
            "info",
            f"Voice {pick.traits.name} is cloned from its ElevenLabs sample.",
            "Voice consent is your responsibility: clone only voices you own or may use.",
            concept,
        )
        if is_ref(pick.target) and not any(
            s.kind == "clone_voice" and (s.body or {}).get("voice_id") == voice_id for s in ctx.resources
        ):
            language = ctx.get("conversation_config.agent.language")
            ctx.resources.append(
                Step(
                    "clone_voice",
                    f"clone voice {pick.traits.name!r} from its ElevenLabs sample (POST /waves/v1/voice-cloning)",
                    {
                        "voice_id": voice_id,
                        "name": pick.traits.name,
                        "ref": pick.target,
                        "language": language if isinstance(language, str) else "en",
                    },
                )
            )
        return pick.target, None, "mapped", note, rule
    if pick.basis == "suggested":
        ctx.finding(
            path,
            "lossy",
            "warning",
            f"Voice {pick.traits.name} ({voice_id}) is not an ElevenLabs premade voice; the nearest "
            f"{'catalog' if options.catalog is not None else 'table'} voice is {pick.target!r} ({pick.confidence} "
            "confidence).",
            (
                f"Listen to it (`atoms-migrate voices SOURCE`; others: {alternatives}), or clone the original with "
                "--clone-voices."
            ),
            concept,
        )
        return pick.target, pick.gender, "lossy", note, rule
    if pick.basis == "language":
        ctx.finding(
            path,
            "lossy",
            "warning",
            f"Voice {pick.traits.name}: {pick.rationale}.",
            f"Listen to it (`atoms-migrate voices SOURCE`; others: {alternatives}).",
            concept,
        )
        return pick.target, pick.gender, "lossy", note, rule
    if pick.basis == "fallback":
        ctx.finding(
            path,
            "unmapped",
            "warning",
            f"Voice {voice_id} is not an ElevenLabs premade voice in {VOICES_FILE}; the plan uses {pick.target!r}.",
            (
                "Run with ELEVENLABS_API_KEY to match it by its labels (`atoms-migrate voices`), or clone it with "
                "--clone-voices."
            ),
            concept,
        )
        return pick.target, pick.gender, "defaulted", pick.rationale, rule
    return pick.target, pick.gender, "mapped" if pick.confidence == "high" else "lossy", note, rule


def tts_model(ctx: MapContext, concept: Concept) -> None:
    found = source_value(ctx, concept)
    if found is None:
        return
    path, value = found
    note = f"{value} -> {ctx.tables.voices.model}" if isinstance(value, str) else ""
    ctx.assign(concept, concept.target[0], ctx.tables.voices.model, path, note=note)


def background_sound(ctx: MapContext, concept: Concept) -> None:
    found = source_value(ctx, concept)
    if found is None:
        return
    path, value = found
    source_id = enum_value(value.get("source_id") if isinstance(value, dict) else None)
    presets = concept.params.get("presets", {})
    target = presets.get(source_id) if source_id is not None else None
    if target is None:
        why = (concept.params.get("no_preset") or {}).get(source_id) if source_id is not None else None
        shown = source_id if source_id is not None else (value.get("source_id") if isinstance(value, dict) else value)
        ctx.finding(
            path,
            "unmapped",
            "warning",
            f"Background sound {shown!r:.60}: {why}"
            if why
            else f"Background sound {shown!r:.60} has no Atoms preset (office, cafe, call_center, static).",
            "Set backgroundSound by hand (office, cafe, call_center or static) if you want one.",
            concept,
        )
        return
    lossy = source_id in concept.params.get("lossy", [])
    ctx.assign(
        concept,
        concept.target[0],
        target,
        path,
        "lossy" if lossy else "mapped",
        f"{source_id} -> {target}; volume and looping are not configurable on Atoms.",
    )
