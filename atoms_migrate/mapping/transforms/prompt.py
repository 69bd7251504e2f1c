"""The system prompt and the first message: system variables renamed, audio tags removed, the greeting
chosen for a language Atoms cannot speak, length limits (Atoms §B.1, §H.20).
"""

from __future__ import annotations

import re

from atoms_migrate import paths
from atoms_migrate.mapping.context import MapContext
from atoms_migrate.mapping.schema import EL_LANGUAGE, Concept
from atoms_migrate.mapping.transforms.common import (
    elevenlabs_text,
    source_value,
    text_with_variables,
    wrong_type,
)
from atoms_migrate.model import ChangeStatus


def prompt(ctx: MapContext, concept: Concept) -> None:
    found = source_value(ctx, concept)
    path, value = found if found else (concept.source, None)
    hint = (
        "Put the prompt text into the config (or export the agent from ElevenLabs) before migrating: "
        "an agent without instructions would go live."
    )
    if value is None or (isinstance(value, str) and not value.strip()):
        ctx.finding(
            path,
            "unmapped",
            "error",
            "No system prompt in the source" + (" (it is empty)." if found else "."),
            hint,
            concept,
        )
        return
    if not isinstance(value, str):
        wrong_type(ctx, concept, path, "prompt text", value)
        return
    external = [p for p in concept.params.get("external", []) if re.search(p, value.strip())]
    if external:
        ctx.finding(
            path,
            "unmapped",
            "error",
            (
                f"No system prompt in the source: {value.strip()[:80]!r} refers to text kept elsewhere, which is not "
                "migrated."
            ),
            hint,
            concept,
        )
        return
    value, tags = _strip_quoted_audio_tags(value, _audio_tag_patterns(ctx, any_bracket=False))
    status: ChangeStatus = "mapped"
    if tags:
        status = "lossy"
        ctx.finding(
            path,
            "lossy",
            "warning",
            (
                "Audio tags removed from greetings and lines quoted in the prompt (Atoms would speak them): "
                f"{', '.join(sorted(set(tags)))}."
            ),
            (
                "Tags outside quotes are left as written: if the prompt asks the model to use audio tags, remove that "
                "instruction."
            ),
            concept,
        )
    new, note = text_with_variables(ctx, concept, path, value)
    if tags:
        note = "; ".join(
            n for n in (f"audio tags removed from quoted lines: {', '.join(sorted(set(tags)))}", note) if n
        )
    ctx.assign(concept, concept.target[0], new, path, status, note)


_QUOTED = re.compile(r'"[^"\n]*"|\u201c[^\u201d\n]*\u201d')


def _strip_quoted_audio_tags(text: str, patterns: list[re.Pattern[str]]) -> tuple[str, list[str]]:
    """Audio tags inside quoted speech of a prompt (an embedded greeting); instructions are left alone."""
    removed: list[str] = []

    def clean(m: re.Match[str]) -> str:
        inner, tags = strip_audio_tags(m.group(0)[1:-1], patterns)
        removed.extend(tags)
        return m.group(0)[0] + inner + m.group(0)[-1] if tags else m.group(0)

    return _QUOTED.sub(clean, text), removed


def _audio_tag_patterns(ctx: MapContext, any_bracket: bool) -> list[re.Pattern[str]]:
    defaults = ctx.tables.concepts.defaults
    patterns = [re.compile(p) for p in defaults.audio_tags]
    if any_bracket and defaults.audio_tags_v3:
        patterns.append(re.compile(defaults.audio_tags_v3))
    return patterns


def strip_audio_tags(text: str, patterns: list[re.Pattern[str]]) -> tuple[str, list[str]]:
    """Remove ElevenLabs v3 audio tags (``[whispers]``) from spoken text; (new text, tags removed)."""
    removed: list[str] = []

    def drop(m: re.Match[str]) -> str:
        removed.append(m.group(0))
        return ""

    if patterns:  # one pass, so the tags are listed in the order they are spoken
        text = re.sub("|".join(f"(?:{p.pattern})" for p in patterns), drop, text)
    if removed:
        text = re.sub(r"[ \t]{2,}", " ", text)
        text = re.sub(r" +([,.!?;:])", r"\1", text).strip()
    return text, removed


def _speaks_tags(ctx: MapContext) -> bool:
    """Whether the source's TTS reads any short bracket as a stage direction (eleven_v3*, expressive mode)."""
    model = ctx.get("conversation_config.tts.model_id")
    return (isinstance(model, str) and model.startswith("eleven_v3")) or ctx.get(
        "conversation_config.tts.expressive_mode"
    ) is True


def _greeting_for_language(ctx: MapContext, concept: Concept, path: str, value: str) -> tuple[str, str, str]:
    """(source path, text, note): the fallback language's preset greeting when Atoms cannot speak the primary language.

    The language concept plans ``fallback_default`` for such an agent; greeting callers in
    the unsupported language with a voice of another would be worse than the source's own
    greeting in the fallback language, when it has one.
    """
    languages = ctx.tables.languages
    code = ctx.get("conversation_config.agent.language")
    code = code if isinstance(code, str) and code.strip() else elevenlabs_text(ctx, EL_LANGUAGE)
    if languages.to_atoms(code) is not None:
        return path, value, ""
    fallback = languages.fallback_default
    presets = ctx.get("conversation_config.language_presets")
    for key in presets if isinstance(presets, dict) else {}:
        if languages.to_atoms(str(key)) != fallback:
            continue
        preset_path = paths.join(
            "conversation_config.language_presets", str(key), "overrides", "agent", "first_message"
        )
        text = ctx.get(preset_path)
        if isinstance(text, str) and text.strip():
            if value.strip():
                ctx.finding(
                    path,
                    "lossy",
                    "warning",
                    (
                        f"The first message is in {code!r}, which Atoms cannot speak; the {key!r} preset's greeting is "
                        "sent instead."
                    ),
                    "Check the greeting: the agent speaks the fallback language on Atoms.",
                    concept,
                )
            return preset_path, text, f"The primary language {code!r} is not on Atoms: greeting of the {key!r} preset."
    if value.strip():
        ctx.finding(
            path,
            "lossy",
            "warning",
            f"The first message is in {code!r}, which Atoms cannot speak, and the source has no {fallback!r} "
            "preset greeting; "
            f"it is sent as written, spoken in {fallback!r}.",
            f"Add a {fallback!r} language preset with a first message, or write the greeting in {fallback!r}.",
            concept,
        )
        return (
            path,
            value,
            f"The primary language {code!r} is not on Atoms: greeting kept as written, spoken in {fallback!r}.",
        )
    return path, value, ""


def first_message(ctx: MapContext, concept: Concept) -> None:
    """Atoms §B.1 (max 500), §H.20 (publish needs a non-empty firstMessage)."""
    message_target, wait_target = concept.target
    found = source_value(ctx, concept)
    path, value = found if found else (concept.source, "")
    if found and path != concept.source:
        ctx.finding(
            path,
            "lossy",
            "info",
            f"First message read from `{path}`, not its usual place `{concept.source}`.",
            concept=concept,
        )
    if not isinstance(value, str):
        wrong_type(ctx, concept, path, "text", value)
        return
    path, value, language_note = _greeting_for_language(ctx, concept, path, value)
    value, tags = strip_audio_tags(value, _audio_tag_patterns(ctx, _speaks_tags(ctx)))
    if tags:
        ctx.finding(
            path,
            "lossy",
            "warning",
            (
                "Audio tags removed from the first message (ElevenLabs v3 stage directions; Atoms would speak them): "
                f"{', '.join(tags)}."
            ),
            "Say the mood in words if it matters; Atoms voices take no stage directions.",
            concept,
        )
    if not value.strip():
        status: ChangeStatus = "mapped" if found else "defaulted"
        placeholder = str(concept.params.get("placeholder_when_empty") or "").strip()
        ctx.assign(concept, wait_target, True, path, status, "Empty first message: the user speaks first.")
        if placeholder:
            # §H.20: publish refuses an empty firstMessage, so the plan says what it sends instead.
            ctx.assign(
                concept,
                message_target,
                placeholder,
                path,
                "lossy",
                "Placeholder: Atoms needs a first message to publish; the user still speaks first.",
            )
        ctx.finding(
            path,
            "lossy",
            "warning",
            "Empty first message: Atoms refuses to publish an agent without one"
            + (f", so the plan sends the placeholder {placeholder!r}." if placeholder else "."),
            "Write the greeting you want, or change placeholder_when_empty in concepts.yaml; "
            "waitForUserToSpeakFirst keeps the user speaking first.",
            concept,
        )
        return
    new, note = text_with_variables(ctx, concept, path, value)
    note = "; ".join(n for n in (language_note, f"audio tags removed: {', '.join(tags)}" if tags else "", note) if n)
    limit = int(concept.params.get("max_length", 500))
    status = "lossy" if (language_note or tags) else "mapped"
    if len(new) > limit:
        cut = new[:limit].rsplit(" ", 1)[0].rstrip(" ,;:") if " " in new[:limit] else new[:limit]
        ctx.finding(
            path,
            "lossy",
            "warning",
            f"First message is {len(new)} characters; Atoms allows {limit}, so it was cut to {len(cut)}.",
            "Shorten the greeting and move the rest into the prompt.",
            concept,
        )
        new, status = cut, "lossy"
    ctx.assign(concept, message_target, new, path, status, note)
    ctx.assign(concept, wait_target, False, path)
