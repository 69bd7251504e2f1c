"""Named transforms the concept table refers to (``transform:`` in mappings/concepts.yaml).

Each transform reads its concept's source path from the ``MapContext``, assigns Atoms
fields and records findings; none does I/O. Vendor rules are cited by reference section
(smallest-atoms-api.md = "Atoms §", elevenlabs-convai-api.md = "EL §").
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from atoms_migrate import paths
from atoms_migrate.mapping.context import MapContext, system_tool_type, tool_config_of
from atoms_migrate.mapping.numbers import bounded, number_range, show_number
from atoms_migrate.mapping.refs import is_ref, late_ref
from atoms_migrate.mapping.schema import Concept
from atoms_migrate.mapping.toolcalls import tool_parity
from atoms_migrate.mapping.voices import language_name, pick_voice
from atoms_migrate.mapping.webhooks import convert_webhook
from atoms_migrate.model import Step

Transform = Callable[[MapContext, Concept], None]
TRANSFORMS: dict[str, Transform] = {}

VOICES_FILE = "mappings/voices.yaml"
LLMS_FILE = "mappings/llms.yaml"
LANGUAGES_FILE = "mappings/languages.yaml"
ELEVENLABS_DEFAULT_VOICE = "cjVigY5qzO86Huf0OWal"  # "Eric", EL §A.5
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_SYSTEM_VAR = re.compile(r"\{\{\s*(system__[A-Za-z0-9_]+)\s*\}\}")


def transform(name: str) -> Callable[[Transform], Transform]:
    def register(fn: Transform) -> Transform:
        TRANSFORMS[name] = fn
        return fn

    return register


def _is_number(value: Any) -> bool:
    """A finite JSON number (NaN and Infinity are refused when the file is read; this is the second line)."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and (isinstance(value, int) or math.isfinite(value))
    )


def _wrong_type(ctx: MapContext, concept: Concept, path: str, expected: str, value: Any) -> None:
    ctx.finding(
        path,
        "unmapped",
        "warning",
        f"Expected {expected}, found {type(value).__name__} {value!r:.60}; not migrated.",
        "Fix the value in the source config.",
        concept,
    )


def _optional_text(ctx: MapContext, concept: Concept, path: str, value: Any) -> str:
    """Text the source may leave out (a description, a condition): stripped, or "" with a finding when it is not text."""
    if value is None:
        return ""
    if not isinstance(value, str):
        _wrong_type(ctx, concept, path, "text", value)
        return ""
    return value.strip()


def _enum_value(value: Any) -> str | None:
    """An enum read from the source: its text, or None for anything else (a list, an object, a number)."""
    return value if isinstance(value, str) else None


def _source_value(ctx: MapContext, concept: Concept) -> tuple[str, Any] | None:
    for path in (concept.source, *concept.fallback_sources):
        if ctx.has(path) and ctx.get(path) is not None:
            return path, ctx.get(path)
    return None


def _source_text(ctx: MapContext, concept: Concept, what: str) -> tuple[str, str] | None:
    """The concept's source value when it is non-empty text; a value of another type is reported, and None."""
    found = _source_value(ctx, concept)
    if found is None:
        return None
    path, value = found
    if not isinstance(value, str) or not value.strip():
        _wrong_type(ctx, concept, path, what, value)
        return None
    return path, value


def _source_list(ctx: MapContext, concept: Concept, what: str, empty: str) -> tuple[str, list[Any]] | None:
    """The concept's source value when it is a non-empty list; otherwise reported, and None."""
    found = _source_value(ctx, concept)
    if found is None:
        return None
    path, value = found
    if not isinstance(value, list):
        _wrong_type(ctx, concept, path, what, value)
        return None
    if not value:
        ctx.empty(concept, path, empty)
        return None
    return path, value


def rename_system_variables(ctx: MapContext, text: str) -> tuple[str, list[str], list[str]]:
    """Rename ElevenLabs system__ variables to Atoms system variables (Atoms §F.4, EL §A.8).

    Returns the new text, the renamings done and the variables with no equivalent.
    """
    table = ctx.tables.concepts.system_variables
    renamed: list[str] = []
    missing: list[str] = []

    def swap(m: re.Match[str]) -> str:
        name = m.group(1)
        target = table.get(name)
        if target:
            renamed.append(f"{name} -> {target}")
            return "{{" + target + "}}"
        missing.append(name)
        return m.group(0)

    return _SYSTEM_VAR.sub(swap, text), sorted(set(renamed)), sorted(set(missing))


def _text_with_variables(ctx: MapContext, concept: Concept, path: str, text: str) -> tuple[str, str]:
    new, renamed, missing = rename_system_variables(ctx, text)
    if missing:
        ctx.finding(
            path,
            "lossy",
            "warning",
            f"System variables with no Atoms equivalent: {', '.join(missing)}; they would be spoken literally.",
            "Remove them from the text, or pass a value per call under the same name.",
            concept,
        )
    return new, ("renamed " + ", ".join(renamed)) if renamed else ""


@transform("text")
def text(ctx: MapContext, concept: Concept) -> None:
    found = _source_value(ctx, concept)
    if found is None:
        return
    path, value = found
    if not isinstance(value, str):
        _wrong_type(ctx, concept, path, "text", value)
    elif not value.strip():
        ctx.empty(concept, path)
    else:
        for target in concept.target:
            ctx.assign(concept, target, value, path)


@transform("name")
def name(ctx: MapContext, concept: Concept) -> None:
    found = _source_value(ctx, concept)
    if found and isinstance(found[1], str) and found[1].strip():
        decided = ctx.options.name
        if decided and decided != found[1].strip():  # Atoms §K.5: kept apart from another source of the same name
            ctx.assign(
                concept,
                concept.target[0],
                decided,
                found[0],
                "lossy",
                ctx.options.name_reason or f"{found[1].strip()!r} is named {decided!r} on Atoms.",
            )
        else:
            ctx.assign(concept, concept.target[0], found[1].strip(), found[0])
        return
    if found:
        _wrong_type(ctx, concept, found[0], "a non-empty name", found[1])
    fallback = ctx.source.agent_id or (Path(ctx.source.path).stem if ctx.source.path else None)
    fallback = fallback or str(ctx.tables.concepts.defaults.get("unnamed_agent", "Migrated agent"))
    ctx.assign(
        concept,
        concept.target[0],
        fallback,
        concept.source,
        "defaulted",
        "The source has no name; named after its file or agent id.",
    )


@transform("prompt")
def prompt(ctx: MapContext, concept: Concept) -> None:
    found = _source_value(ctx, concept)
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
        _wrong_type(ctx, concept, path, "prompt text", value)
        return
    external = [p for p in concept.params.get("external", []) if re.search(p, value.strip())]
    if external:
        ctx.finding(
            path,
            "unmapped",
            "error",
            f"No system prompt in the source: {value.strip()[:80]!r} refers to text kept elsewhere, which is not migrated.",
            hint,
            concept,
        )
        return
    value, tags = _strip_quoted_audio_tags(value, _audio_tag_patterns(ctx, any_bracket=False))
    status = "mapped"
    if tags:
        status = "lossy"
        ctx.finding(
            path,
            "lossy",
            "warning",
            f"Audio tags removed from greetings and lines quoted in the prompt (Atoms would speak them): {', '.join(sorted(set(tags)))}.",
            "Tags outside quotes are left as written: if the prompt asks the model to use audio tags, remove that instruction.",
            concept,
        )
    new, note = _text_with_variables(ctx, concept, path, value)
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
    patterns = [re.compile(p) for p in defaults.get("audio_tags") or []]
    if any_bracket and defaults.get("audio_tags_v3"):
        patterns.append(re.compile(defaults["audio_tags_v3"]))
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
    code = code if isinstance(code, str) and code.strip() else "en"
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
                    f"The first message is in {code!r}, which Atoms cannot speak; the {key!r} preset's greeting is sent instead.",
                    "Check the greeting: the agent speaks the fallback language on Atoms.",
                    concept,
                )
            return preset_path, text, f"The primary language {code!r} is not on Atoms: greeting of the {key!r} preset."
    if value.strip():
        ctx.finding(
            path,
            "lossy",
            "warning",
            f"The first message is in {code!r}, which Atoms cannot speak, and the source has no {fallback!r} preset greeting; "
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


@transform("first_message")
def first_message(ctx: MapContext, concept: Concept) -> None:
    """Atoms §B.1 (max 500), §H.20 (publish needs a non-empty firstMessage)."""
    message_target, wait_target = concept.target
    found = _source_value(ctx, concept)
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
        _wrong_type(ctx, concept, path, "text", value)
        return
    path, value, language_note = _greeting_for_language(ctx, concept, path, value)
    value, tags = strip_audio_tags(value, _audio_tag_patterns(ctx, _speaks_tags(ctx)))
    if tags:
        ctx.finding(
            path,
            "lossy",
            "warning",
            f"Audio tags removed from the first message (ElevenLabs v3 stage directions; Atoms would speak them): {', '.join(tags)}.",
            "Say the mood in words if it matters; Atoms voices take no stage directions.",
            concept,
        )
    if not value.strip():
        status = "mapped" if found else "defaulted"
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
    new, note = _text_with_variables(ctx, concept, path, value)
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


@transform("language")
def language(ctx: MapContext, concept: Concept) -> None:
    """Atoms §F.1: default in supported, `ta` alone, switching always sent (§H.8)."""
    table = ctx.tables.languages
    rule = f"{LANGUAGES_FILE}#codes"

    def to_atoms(code: str) -> str | None:
        code = code.strip().lower()
        return table.codes.get(code) or table.codes.get(re.split(r"[-_]", code)[0])

    found = _source_value(ctx, concept)
    source_code = found[1] if found and isinstance(found[1], str) and found[1].strip() else "en"
    default_path = found[0] if found else concept.source
    default = to_atoms(source_code)
    if found and not isinstance(found[1], str):
        # A wrong type is not a language: say so instead of reading it as ElevenLabs' default.
        ctx.finding(
            default_path,
            "unmapped",
            "error",
            f"Expected a language code such as 'en', found {type(found[1]).__name__} {found[1]!r:.60}; "
            f"the plan uses {default!r} until it is fixed.",
            "Fix the value in the source config.",
            concept,
        )
        ctx.assign(concept, "language.default", default, default_path, "defaulted", rule=rule)
    elif default is None:
        default = table.fallback_default
        ctx.finding(
            default_path,
            "unmapped",
            "error",
            f"Primary language {source_code!r} cannot be represented on Atoms (agent languages: {', '.join(table.atoms_codes)}); "
            f"the plan uses {default!r}.",
            "Check that the agent can serve callers in a supported language before migrating.",
            concept,
        )
        ctx.assign(concept, "language.default", default, default_path, "defaulted", rule=rule)
    else:
        status = "mapped" if found else "defaulted"
        ctx.assign(
            concept,
            "language.default",
            default,
            default_path,
            status,
            "" if found else "No language in the source: ElevenLabs' default en.",
            rule=rule,
        )
    supported = [default]
    preset_paths: dict[str, str] = {}
    presets = ctx.get("conversation_config.language_presets")
    for code in presets if isinstance(presets, dict) else {}:
        atoms = to_atoms(str(code))
        preset_path = paths.join("conversation_config.language_presets", str(code))
        if atoms is None:
            ctx.finding(
                preset_path,
                "unmapped",
                "warning",
                f"Language preset {code!r} cannot be represented on Atoms; callers in it are not served in their language.",
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
    # Source path: the primary language. Preset keys are not leaves, and covering the whole
    # language_presets subtree here would hide the per-language overrides it holds.
    ctx.assign(concept, "language.supported", supported, default_path, rule=rule)
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


@transform("llm")
def llm(ctx: MapContext, concept: Concept) -> None:
    found = _source_text(ctx, concept, "an LLM name")
    if found is None:
        return
    path, value = found
    custom = _custom_llm(ctx, concept, path, value.strip())
    if custom is not None:
        path, value = custom
    rule = ctx.tables.llms.lookup(value.strip())
    if rule is None:  # a table without a catch-all rule
        ctx.finding(
            path,
            "unmapped",
            "warning",
            f"No rule in {LLMS_FILE} for LLM {value!r}; Atoms' default model is used.",
            f"Add a rule for it to {LLMS_FILE}.",
            concept,
        )
        return
    table_rule = f"{LLMS_FILE}#{rule.match}"
    if rule.status == "unmapped":
        ctx.assign(concept, concept.target[0], rule.target, path, "defaulted", rule.note, rule=table_rule)
        ctx.finding(
            path,
            "unmapped",
            "warning",
            f"LLM {value!r}: {rule.note}",
            "Choose slmModel by hand if electron does not fit.",
            concept,
        )
    else:
        ctx.assign(
            concept,
            concept.target[0],
            rule.target,
            path,
            rule.status,
            f"{value} -> {rule.target}: {rule.note}",
            rule=table_rule,
        )
    if rule.target in ctx.tables.llms.gated:
        ctx.finding(
            path,
            "lossy",
            "warning",
            f"slmModel {rule.target!r} needs org-level access on Atoms (403 otherwise).",
            "Ask Smallest to enable it, or change the rule in mappings/llms.yaml.",
            concept,
        )


def _custom_llm(ctx: MapContext, concept: Concept, path: str, value: str) -> tuple[str, str] | None:
    """``custom-llm`` with ``custom_llm.model_id``: (model id path, model id) to look up in llms.yaml (EL §A.8.4).

    The endpoint may add its own logic (retrieval, guardrails, routing) around the model: that
    is lost whatever Atoms model is chosen, so it is an error finding either way.
    """
    if value != "custom-llm":
        return None
    base = str(concept.params.get("custom_llm") or "conversation_config.agent.prompt.custom_llm")
    model_path = paths.join(base, "model_id")
    model_id = ctx.get(model_path)
    url = ctx.get(paths.join(base, "url"))
    where = f" at {url}" if isinstance(url, str) and url.strip() else ""
    ctx.finding(
        path,
        "unmapped",
        "error",
        f"Custom LLM endpoint{where}: whatever it does around the model (retrieval, guardrails, routing) is lost on Atoms.",
        "Configure the endpoint on Atoms as customLLMWebSocketUrl (WebSocket) by hand, or accept the planned model; "
        "--allow-errors applies the plan without it.",
        concept,
    )
    rule = ctx.tables.llms.lookup(model_id.strip()) if isinstance(model_id, str) and model_id.strip() else None
    if rule is not None and rule.match not in ("*", "custom-llm"):  # a model the table knows, not the catch-all
        return model_path, model_id.strip()
    return None


@transform("timezone")
def timezone(ctx: MapContext, concept: Concept) -> None:
    """IANA name -> Atoms {label, offset}; a fixed offset cannot follow daylight saving (Atoms §B.1, §H.13)."""
    found = _source_text(ctx, concept, "an IANA timezone name")
    if found is None:
        return
    path, value = found
    try:
        zone = ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        ctx.finding(
            path,
            "unmapped",
            "warning",
            f"Unknown timezone {value!r}; not migrated.",
            "Use an IANA name such as America/New_York.",
            concept,
        )
        return
    # Fixed dates, so the plan does not depend on the day it is made; standard time is the smaller offset.
    offsets = {int(zone.utcoffset(datetime(2026, month, 1)).total_seconds() // 60) for month in (1, 7)}  # type: ignore[union-attr]
    offset = min(offsets)
    if len(offsets) > 1:
        ctx.assign(
            concept,
            concept.target[0],
            {"label": value.strip(), "offset": offset},
            path,
            "lossy",
            f"{value} observes daylight saving time; Atoms keeps the fixed standard offset {offset:+d} min, an hour off in summer.",
        )
        ctx.finding(
            path,
            "lossy",
            "warning",
            f"Timezone {value} observes daylight saving time; the Atoms offset is fixed at {offset:+d} minutes (standard time).",
            "Check the agent's sense of time in summer, or move the offset by hand when the clocks change.",
            concept,
        )
    else:
        ctx.assign(concept, concept.target[0], {"label": value.strip(), "offset": offset}, path)


@transform("voice")
def voice(ctx: MapContext, concept: Concept) -> None:
    """EL voice ids never work on Atoms (Atoms §A.9, §H.22): table, suggestion, clone or fallback.

    Premade voices go through the voice table. Others are matched by their ElevenLabs labels
    (when read) against the live catalog, or cloned with --clone-voices. With a catalog, a
    planned voice that is not in it is an error and is not sent (Atoms would reject it).
    """
    voices = ctx.tables.voices
    found = _source_value(ctx, concept)
    path = found[0] if found else concept.source
    voice_id = found[1] if found else ELEVENLABS_DEFAULT_VOICE
    if not isinstance(voice_id, str) or not voice_id.strip():
        _wrong_type(ctx, concept, path, "a voice id", voice_id)
        return
    base = concept.target[0]
    choice = choose_voice(ctx, voice_id, path, concept, _planned(ctx, "language.default"))
    if choice is not None:
        target, gender, status, note, rule = choice
        if not found:
            status = "defaulted"
        ctx.assign(concept, f"{base}.voiceId", target, path, status, note, rule=rule)
        if gender:  # a fact about the chosen Atoms voice, not a second approximation
            ctx.assign(concept, f"{base}.gender", gender, path, "defaulted" if not found else "mapped", rule=rule)
    if not ctx.has("conversation_config.tts.model_id"):
        ctx.assign(concept, f"{base}.model", voices.model, path, "defaulted", rule=f"{VOICES_FILE}#model")


def _planned(ctx: MapContext, target: str) -> Any:
    """The value an earlier concept planned for an Atoms field (None when none did)."""
    return next((a.value for a in reversed(ctx.assignments) if a.path == target), None)


def _voice_languages(ctx: MapContext, concept: Concept, pick: Any, path: str) -> None:
    """Atoms §K.4: the voice must speak the agent's languages; say which ones it does not."""
    if pick.languages is None or pick.target is None:
        return
    supported = _planned(ctx, "language.supported") or []
    names = {code: language_name(code) for code in supported if isinstance(code, str)}
    missing = [code for code, name in names.items() if name and name not in pick.languages]
    if not missing:
        return
    default = _planned(ctx, "language.default")
    primary = default in missing
    ctx.finding(
        path,
        "lossy",
        "warning",
        f"Voice {pick.target!r} speaks {', '.join(pick.languages)}, not {', '.join(names[c] for c in missing)} "
        f"({', '.join(missing)}{', the primary language' if primary else ''}); callers hear it with the wrong accent or not at all.",
        "Choose a catalog voice that speaks every language of the agent (`atoms-migrate voices SOURCE`), "
        "or set one in mappings/voices.yaml (language_voices).",
        concept,
    )


def choose_voice(
    ctx: MapContext, voice_id: str, path: str, concept: Concept, language: str | None = None
) -> tuple[str, str | None, str, str, str] | None:
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
            f"Voice for {pick.traits.name} ({voice_id}): {pick.rationale}, so no voice is sent (Atoms would reject it).",
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
            f"{'catalog' if options.catalog is not None else 'table'} voice is {pick.target!r} ({pick.confidence} confidence).",
            f"Listen to it (`atoms-migrate voices SOURCE`; others: {alternatives}), or clone the original with --clone-voices.",
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
            "Run with ELEVENLABS_API_KEY to match it by its labels (`atoms-migrate voices`), or clone it with --clone-voices.",
            concept,
        )
        return pick.target, pick.gender, "defaulted", pick.rationale, rule
    return pick.target, pick.gender, "mapped" if pick.confidence == "high" else "lossy", note, rule


@transform("tts_model")
def tts_model(ctx: MapContext, concept: Concept) -> None:
    found = _source_value(ctx, concept)
    if found is None:
        return
    path, value = found
    note = f"{value} -> {ctx.tables.voices.model}" if isinstance(value, str) else ""
    ctx.assign(concept, concept.target[0], ctx.tables.voices.model, path, note=note)


@transform("number")
def number(ctx: MapContext, concept: Concept) -> None:
    params = concept.params
    found = _source_value(ctx, concept)
    if found is None:
        # An absent field is what ElevenLabs' server default made it (EL addendum, September 2026
        # defaults): plan that value, so it never silently becomes a different Atoms default.
        defaults = ctx.tables.concepts.defaults.get("elevenlabs_defaults") or {}
        if params.get("elevenlabs_default") and concept.source in defaults:
            for target in concept.target:
                ctx.assign(
                    concept,
                    target,
                    defaults[concept.source],
                    concept.source,
                    "defaulted",
                    f"Not set in the source: ElevenLabs' default {defaults[concept.source]} (September 2026 spec).",
                )
        return
    path, value = found
    if not _is_number(value):
        _wrong_type(ctx, concept, path, "a number", value)
        return
    low, high = params.get("min"), params.get("max")
    clamped = min(max(value, low if low is not None else value), high if high is not None else value)
    if params.get("integer"):
        clamped = int(round(clamped))
    status = params.get("status", "mapped")
    note = ""
    if clamped != value:
        status = "lossy"
        note = f"{show_number(value)} is outside the Atoms range {low}-{high}; clamped to {clamped}."
        ctx.finding(path, "lossy", "warning", note, "Check the behaviour after migration.", concept)
    for target in concept.target:
        ctx.assign(concept, target, clamped, path, status, note)


@transform("silence_end_call")
def silence_end_call(ctx: MapContext, concept: Concept) -> None:
    """EL hangs up after N s of silence; Atoms re-prompts maxRetries times per idle timeout."""
    found = _source_value(ctx, concept)
    if found is None:
        return
    path, value = found
    if not _is_number(value):
        _wrong_type(ctx, concept, path, "a number of seconds", value)
        return
    if value <= 0:
        ctx.finding(
            path,
            "ignored",
            "info",
            "Hang-up on silence is disabled in ElevenLabs (-1); Atoms keeps its default idle handling.",
            concept=concept,
        )
        return
    turn = ctx.get("conversation_config.turn.turn_timeout")
    turn = turn if _is_number(turn) and turn > 0 else 7  # EL default turn_timeout, EL §A.4
    timeout_range = number_range(ctx.tables, "llmIdleTimeoutConfig.telephonyTimeoutTimeInSecs")
    if timeout_range:  # the idle timeout the plan writes, not the raw source value (1e-9 would overflow)
        turn = bounded(turn, timeout_range[1])
    wanted = max(0, math.ceil(min(value, 1e12) / turn) - 1)  # bounded first: 10**400 / 7 overflows a float
    retries_range = number_range(ctx.tables, concept.target[0])
    retries = bounded(wanted, retries_range[1]) if retries_range else wanted
    note = f"Hang up after ~{show_number(value)} s of silence -> {retries} re-prompt(s) of {turn:g} s each before the call ends."
    if retries != wanted:
        limits = retries_range[1]  # type: ignore[index]
        note += f" ({show_number(wanted)} needed; Atoms range {limits.min:g}-{limits.max:g}, {limits.reference}.)"
        ctx.finding(
            path,
            "lossy",
            "warning",
            f"Silence of {show_number(value)} s before hang-up needs {show_number(wanted)} re-prompts; "
            f"clamped to {retries}, so the call ends after about {retries + 1} x {turn:g} s of silence.",
            "Check the behaviour after migration.",
            concept,
        )
    ctx.assign(concept, concept.target[0], retries, path, "lossy", note)


@transform("boolean")
def boolean(ctx: MapContext, concept: Concept) -> None:
    found = _source_value(ctx, concept)
    if found is None:
        return
    path, value = found
    if not isinstance(value, bool):
        _wrong_type(ctx, concept, path, "true or false", value)
        return
    for target in concept.target:
        ctx.assign(concept, target, value, path)


INITIATION_WEBHOOK = "platform_settings.workspace_overrides.conversation_initiation_client_data_webhook"
INITIATION_ENABLED = "platform_settings.overrides.enable_conversation_initiation_client_data_from_webhook"


def _initiation_webhook(ctx: MapContext) -> dict[str, Any] | None:
    """The agent's conversation-initiation webhook when ElevenLabs calls it (EL addendum), else None."""
    webhook = ctx.get(INITIATION_WEBHOOK)
    enabled = ctx.get(INITIATION_ENABLED) is True
    return (
        webhook
        if enabled and isinstance(webhook, dict) and isinstance(webhook.get("url"), str) and webhook["url"].strip()
        else None
    )


@transform("dynamic_variables")
def dynamic_variables(ctx: MapContext, concept: Concept) -> None:
    found = _source_value(ctx, concept)
    if found is None:
        return
    path, value = found
    if not isinstance(value, dict):
        _wrong_type(ctx, concept, path, "an object", value)
        return
    placeholders_path = paths.join(path, "dynamic_variable_placeholders")
    placeholders = value.get("dynamic_variable_placeholders")
    if isinstance(placeholders, dict) and not placeholders:
        ctx.empty(concept, placeholders_path, "No dynamic variables")
    # With an initiation webhook, the placeholders are test values: a caller would hear them when
    # the pre-call API does not answer, so they are planned as defaults, lossy, and named.
    webhook = _initiation_webhook(ctx)
    test_values: list[str] = []
    for key, default in (placeholders or {}).items() if isinstance(placeholders, dict) else []:
        if (
            webhook is not None
            and default is not None
            and isinstance(default, (str, int, float, bool))
            and not key.startswith(("secret__", "system__"))
        ):
            test_values.append(key)
            ctx.assign(
                concept,
                paths.join(concept.target[0], key),
                default,
                paths.join(placeholders_path, key),
                "lossy",
                "A test value of an agent whose variables come from its initiation webhook.",
            )
            continue
        var_path = paths.join(placeholders_path, key)
        if default is None:
            continue
        if key.startswith("secret__"):
            ctx.finding(
                var_path,
                "lossy",
                "warning",
                f"Secret variable {key} is not copied into the agent config.",
                "Supply it per call; Atoms variables are visible to the model, so prefer a pre-call API.",
                concept,
            )
        elif key.startswith("system__"):
            ctx.finding(
                var_path,
                "ignored",
                "info",
                f"{key} is filled by the platform at call time; its test value is not copied.",
                concept=concept,
            )
        elif isinstance(default, (str, int, float, bool)):
            ctx.assign(concept, paths.join(concept.target[0], key), default, var_path)
        else:
            _wrong_type(ctx, concept, var_path, "a string, number or boolean default", default)
    if test_values:
        ctx.finding(
            placeholders_path,
            "lossy",
            "warning",
            f"Dynamic-variable placeholders are test values (the agent's variables come from its initiation webhook): "
            f"{', '.join(test_values)} become defaults a caller would hear when the pre-call API gives no value.",
            "Clear or replace these defaults on Atoms once the pre-call API answers with real values.",
            concept,
        )
    ctx.sweep(concept, path, "Not carried over")


@transform("initiation_webhook")
def initiation_webhook(ctx: MapContext, concept: Concept) -> None:
    """EL conversation-initiation webhook -> Atoms preCallAPI (Atoms §F.4; EL addendum).

    ElevenLabs posts {caller_id, agent_id, called_number, call_sid} and reads
    ``dynamic_variables`` from the answer; Atoms calls ``preCallAPI`` and reads
    ``responseVariables`` by JSON path. Payload and signature differ, so the plan says the
    endpoint must change too; secret headers cannot be read and are left out, named.
    """
    found = _source_value(ctx, concept)
    if found is None or not isinstance(found[1], dict):
        return
    path, webhook = found
    if _initiation_webhook(ctx) is None:
        ctx.finding(
            path,
            "ignored",
            "info",
            "Conversation-initiation webhook configured but not enabled: ElevenLabs does not call it.",
            concept=concept,
        )
        return
    headers: dict[str, str] = {}
    left_out: list[str] = []
    raw_headers = webhook.get("request_headers")
    for name, value in raw_headers.items() if isinstance(raw_headers, dict) else []:
        if isinstance(value, str):
            headers[str(name)] = value
        else:
            left_out.append(str(name))
    placeholders = ctx.get("conversation_config.agent.dynamic_variables.dynamic_variable_placeholders")
    names = (
        [k for k in placeholders if not str(k).startswith(("system__", "secret__"))]
        if isinstance(placeholders, dict)
        else []
    )
    for a in ctx.assignments:  # variables the prompt and greeting use, even without a placeholder
        if a.path in ("singlePromptConfig.prompt", "firstMessage") and isinstance(a.value, str):
            names += [
                v
                for v in re.findall(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", a.value)
                if v not in names
                and not v.startswith(("system__", "secret__"))
                and v not in ctx.tables.concepts.system_variables.values()
            ]
    names = list(dict.fromkeys(names))
    api: dict[str, Any] = {"isEnabled": True, "url": webhook["url"].strip(), "method": "POST"}
    if headers:
        api["headers"] = headers
    if concept.params.get("body"):
        api["body"] = dict(concept.params["body"])
    if names:
        api["responseVariables"] = [{"variableName": n, "jsonPath": f"$.dynamic_variables.{n}"} for n in names]
    note = (
        "The endpoint must change: Atoms sends its own request (body with {{user_number}}, {{agent_number}}, {{call_id}}) "
        "without ElevenLabs' signature, and reads each variable from $.dynamic_variables.<name>"
    )
    ctx.assign(concept, concept.target[0], api, path, "lossy", note)
    ctx.finding(
        path,
        "lossy",
        "warning",
        "The conversation-initiation webhook becomes preCallAPI: Atoms calls it with a different payload and no ElevenLabs "
        "signature, and conversation_config_override in its answer has no Atoms equivalent."
        + (f" Secret headers left out: {', '.join(left_out)}." if left_out else ""),
        'Change the endpoint to accept Atoms\' request and answer {"dynamic_variables": {...}}'
        + (", and add the secret headers on Atoms by hand." if left_out else "."),
        concept,
    )


@transform("interruptions")
def interruptions(ctx: MapContext, concept: Concept) -> None:
    found = _source_value(ctx, concept)
    if found is None:
        return
    path, value = found
    if not isinstance(value, list):
        _wrong_type(ctx, concept, path, "a list of client events", value)
        return
    enabled = "interruption" in value
    note = (
        "client_events lists `interruption`."
        if enabled
        else "client_events omits `interruption`: interruptions were off."
    )
    ctx.assign(concept, concept.target[0], enabled, path, note=note)


@transform("background_sound")
def background_sound(ctx: MapContext, concept: Concept) -> None:
    found = _source_value(ctx, concept)
    if found is None:
        return
    path, value = found
    source_id = _enum_value(value.get("source_id") if isinstance(value, dict) else None)
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


# --- tools -------------------------------------------------------------------------------


def map_system_tool(ctx: MapContext, concept: Concept, kind: str, cfg: dict[str, Any], path: str) -> None:
    """One ElevenLabs system tool (EL §A.8.2) -> Atoms tools or settings (Atoms §D, §B.1)."""
    params = cfg.get("params") if isinstance(cfg.get("params"), dict) else {}
    consumed = ("name", "type", "params.system_tool_type", "description")
    if kind == "language_detection":
        first = ctx.system_tools.get("language_detection", [])
        if first and first[0].source_path != path:  # the first declaration is read by the language concept
            ctx.finding(
                path,
                "ignored",
                "info",
                f"language_detection is declared again; already read from {first[0].source_path} (language.switching).",
                concept=concept,
            )
        else:
            ctx.sweep(concept, path, "language_detection settings with no Atoms equivalent", consumed, tree=cfg)
        return
    if kind == "end_call" and "end_call" in ctx.mapped_system_tools:
        ctx.finding(
            path,
            "ignored",
            "info",
            f"end_call is declared again; already migrated from {ctx.mapped_system_tools['end_call']}.",
            concept=concept,
        )
        return
    if kind == "end_call":
        ctx.mapped_system_tools["end_call"] = path
        description = _optional_text(ctx, concept, paths.join(path, "description"), cfg.get("description"))
        description = description or concept.params.get("end_call_description", "End the call.")
        tool_name = ctx.unique_tool_name("end_call")
        description = _text_with_variables(ctx, concept, paths.join(path, "description"), description)[
            0
        ]  # the LLM reads it
        ctx.append(
            concept,
            "singlePromptConfig.tools",
            {"type": "end_call", "name": tool_name, "description": description},
            path,
        )
        ctx.sweep(concept, path, "end_call settings with no Atoms equivalent", consumed, tree=cfg)
    elif kind == "transfer_to_number":
        _transfer_to_number(ctx, concept, cfg, params, path)
        ctx.sweep(concept, path, "transfer_to_number settings with no Atoms equivalent", consumed, tree=cfg)
    elif kind == "voicemail_detection":
        message = params.get("voicemail_message")
        ctx.assign(concept, "voiceMailDetectionConfig.enabled", True, path)
        if isinstance(message, str) and message.strip():
            end_text = _text_with_variables(
                ctx, concept, paths.join(path, "params", "voicemail_message"), message.strip()
            )[0]
            status = "mapped"
            if len(end_text) > 200:  # Atoms §B.1: endText <= 200
                end_text, status = end_text[:200].rsplit(" ", 1)[0], "lossy"
            ctx.assign(
                concept,
                "voiceMailDetectionConfig.endText",
                end_text,
                paths.join(path, "params", "voicemail_message"),
                status,
            )
        ctx.sweep(concept, path, "voicemail_detection settings with no Atoms equivalent", consumed, tree=cfg)
    elif kind in ctx.tables.concepts.tools.system_tools:
        row = ctx.tables.concepts.tools.system_tools[kind]
        ctx.finding(path, row.status, row.severity, f"System tool {kind}: {row.atoms}", row.hint, concept)
    else:
        ctx.finding(
            path,
            "unmapped",
            "warning",
            f"Unknown ElevenLabs system tool {kind!r}: not migrated.",
            "Recreate its behaviour in the prompt or as an api_call tool.",
            concept,
        )


def _transfer_to_number(
    ctx: MapContext, concept: Concept, cfg: dict[str, Any], params: dict[str, Any], path: str
) -> None:
    transfers = params.get("transfers")
    if not isinstance(transfers, list) or not transfers:
        ctx.finding(path, "unmapped", "warning", "transfer_to_number has no destinations.", concept=concept)
        return
    for i, transfer in enumerate(transfers):
        item_path = paths.join(path, "params", "transfers", i)
        if not isinstance(transfer, dict):
            _wrong_type(ctx, concept, item_path, "a transfer object", transfer)
            continue
        destination = transfer.get("transfer_destination")
        raw_kind = destination.get("type") if isinstance(destination, dict) else "phone"
        kind = _enum_value(raw_kind)
        number = destination.get("phone_number") if isinstance(destination, dict) else transfer.get("phone_number")
        row = ctx.tables.concepts.tools.transfer_destinations.get(kind) if kind is not None else None
        if row is not None:
            ctx.finding(
                item_path,
                row.status,
                row.severity,
                f"Transfer destination of type {kind!r}: {row.atoms}",
                row.hint,
                concept,
            )
            continue
        if kind != "phone":
            ctx.finding(
                item_path,
                "unmapped",
                "error",
                f"Unknown transfer destination type {raw_kind!r:.60}: not migrated (Atoms transfer_call needs a fixed E.164 number).",
                "Give the transfer a fixed phone number.",
                concept,
            )
            continue
        normalised = re.sub(r"[\s().-]", "", str(number or ""))
        if not E164.match(normalised):
            ctx.finding(
                item_path,
                "unmapped",
                "error",
                f"Transfer number {number!r} is not in E.164 form (+<country><number>).",
                "Fix the number in the source config.",
                concept,
            )
            continue
        transfer_type = transfer.get("transfer_type") or "conference"  # EL default per OAS-2025
        option = {"conference": "warm_transfer", "blind": "cold_transfer", "sip_refer": "cold_transfer"}.get(
            _enum_value(transfer_type) or ""
        )
        status, note = "mapped", f"transfer_type {transfer_type} -> {option}"
        if option is None:
            option, status, note = (
                "cold_transfer",
                "lossy",
                f"Unknown transfer_type {transfer_type!r:.60}; cold transfer used.",
            )
            ctx.finding(
                paths.join(item_path, "transfer_type"),
                "lossy",
                "warning",
                f"Unknown transfer_type {transfer_type!r:.60} (expected blind, conference or sip_refer); a cold transfer is planned.",
                "Fix the value in the source config.",
                concept,
            )
        elif transfer_type == "sip_refer":
            status, note = "lossy", "SIP REFER transfer becomes a cold transfer."
        if normalised != number:
            note += f"; number normalised from {number!r}"
        if normalised in ctx.transfer_numbers:
            # Declared twice (built-in tool and legacy inline tool): one transfer_call, as for end_call.
            ctx.finding(
                item_path,
                "ignored",
                "info",
                f"Transfer to {normalised} is declared again; already migrated from {ctx.transfer_numbers[normalised]}.",
                concept=concept,
            )
            continue
        ctx.transfer_numbers[normalised] = item_path
        condition = _optional_text(ctx, concept, paths.join(item_path, "condition"), transfer.get("condition"))
        description = condition or concept.params.get("transfer_description", "Transfer the call.")
        tool = {
            "type": "transfer_call",
            "name": ctx.unique_tool_name("transfer_call"),
            "description": _text_with_variables(ctx, concept, paths.join(item_path, "condition"), description)[0],
            "transferNumber": normalised,
            "transferOption": {"type": option},
        }
        ctx.append(concept, "singlePromptConfig.tools", tool, item_path, status, note)


@transform("system_tools")
def system_tools(ctx: MapContext, concept: Concept) -> None:
    found = _source_value(ctx, concept)
    if found is None:
        return
    path, value = found
    if isinstance(value, list):  # some exports list built-in tools by name
        for i, item in enumerate(value):
            ctx.finding(
                paths.join(path, i),
                "unmapped",
                "warning",
                f"built_in_tools given as a list ({item!r}); expected an object keyed by tool name.",
                concept=concept,
            )
        if not value:
            ctx.empty(concept, path, "No built-in tools")
        return
    if not isinstance(value, dict):
        _wrong_type(ctx, concept, path, "an object", value)
        return
    for key, cfg in value.items():
        if isinstance(cfg, dict):
            map_system_tool(ctx, concept, system_tool_type(key, cfg), cfg, paths.join(path, key))


_NON_SYSTEM_TOOL_FINDINGS = {
    "client": (
        "error",
        "Client tool {name!r} runs in the caller's app; Atoms single-prompt agents have no client tools.",
        "Move the action to an HTTP endpoint and call it with an api_call tool, or drop it.",
    ),
    "mcp": (
        "error",
        "MCP tool {name!r} has no Atoms single-prompt equivalent.",
        "Expose the operation over HTTP and call it with an api_call tool.",
    ),
}


_END_SESSION_NAMES = frozenset(
    {
        "end_session",
        "end_call",
        "hang_up",
        "hangup",
        "endcall",
        "end_conversation",
        "end_chat",
        "terminate_call",
        "terminate_session",
        "disconnect_call",
        "close_session",
    }
)


def _ends_session(name: str) -> bool:
    """A client tool named for ending the session (``end_session``, ``hang-up``, ``endCall``...)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return re.sub(r"[\s\-]+", "_", snake).strip("_") in _END_SESSION_NAMES


def _non_system_tool(ctx: MapContext, concept: Concept, cfg: dict[str, Any], path: str) -> None:
    kind = _enum_value(cfg.get("type")) or "unknown"
    tool_name = cfg.get("name") or "(unnamed)"
    if kind == "webhook":
        _webhook_tool(ctx, concept, cfg, path)
        return
    row = ctx.tables.concepts.tools.tool_types.get(kind)
    if row is not None:
        ctx.finding(
            path, row.status, row.severity, f"Tool {tool_name!r:.60} of type {kind}: {row.atoms}", row.hint, concept
        )
        return
    severity, message, hint = _NON_SYSTEM_TOOL_FINDINGS.get(
        kind, ("error", "Tool {name!r} of type {kind!r} is not migrated.", "Recreate it by hand on Atoms.")
    )
    if kind == "client" and _ends_session(str(tool_name)):
        already = ctx.mapped_system_tools.get("end_call")
        hint = (
            f"Its job is to end the session: Atoms' end_call tool does that, and this agent already gets one (from {already})."
            if already
            else "Its job is to end the session: give the agent an end_call tool (add the end_call system tool to "
            "built_in_tools and migrate again, or add an end_call tool on Atoms) so it can still hang up."
        )
    shown = kind if kind != "unknown" or cfg.get("type") is None else cfg.get("type")
    ctx.finding(path, "unmapped", severity, message.format(name=tool_name, kind=shown), hint, concept)  # type: ignore[arg-type]


def _webhook_tool(ctx: MapContext, concept: Concept, cfg: dict[str, Any], path: str) -> None:
    """EL webhook tool -> Atoms api_call (webhooks.py), with its notes as findings under ``path``."""
    wanted = str(cfg.get("name") or "api_call")
    name = ctx.unique_tool_name(wanted)
    table = ctx.tables.concepts.system_variables
    conv = convert_webhook(cfg, name, lambda var: table.get(var), ctx.tool_options)
    for note in conv.notes:
        if note.status != "mapped":  # "mapped" notes explain the change itself (below)
            ctx.finding(
                paths.join(path, *paths.parse_path(note.path)) if note.path else path,
                note.status,
                note.severity,
                note.message,
                note.hint,
                concept,
            )
    if conv.blocked:
        ctx.finding(
            path,
            "unmapped",
            "error",
            f"Webhook tool {wanted!r} is not migrated until the errors above are fixed.",
            concept=concept,
        )
        return
    ctx.secrets.update(conv.literal_secrets)
    notes = list(conv.lossy) + [n.message for n in conv.notes if n.status == "mapped"]
    if name != wanted:
        notes.insert(0, f"renamed from {wanted!r} (Atoms tool names have no spaces and are unique)")
        ctx.finding(
            path,
            "lossy",
            "info",
            f"Tool {wanted!r} is named {name!r} on Atoms (names have no spaces and are unique).",
            concept=concept,
        )
        prompt_text = ctx.get("conversation_config.agent.prompt.prompt")
        if isinstance(prompt_text, str) and wanted in prompt_text:
            ctx.finding(
                "conversation_config.agent.prompt.prompt",
                "lossy",
                "warning",
                f"The prompt names the tool {wanted!r}, which is {name!r} on Atoms; the prompt is not rewritten.",
                f"Replace {wanted!r} with {name!r} in the prompt if the agent should call it by name.",
                concept,
            )
    # Prove the call: render it as ElevenLabs and as Atoms send it, from the same samples.
    rename = lambda var: table.get(var)  # noqa: E731
    parity = tool_parity(cfg, conv.tool, path, rename, ctx.tool_options.values)
    ctx.tool_parity.append(parity)
    for difference in parity.differences:
        ctx.finding(
            path,
            "lossy",
            "error",
            f"Tool {name} would not make the same HTTP call on Atoms: {difference}.",
            "Fix the tool on Atoms by hand or report the case; the live agent would call your API differently.",
            concept,
        )
    if parity.differences:
        notes.append(f"call differs from ElevenLabs ({len(parity.differences)} difference(s))")
    note = "; ".join(notes) or "webhook -> api_call"
    status = "lossy" if conv.lossy or parity.differences else "mapped"
    ctx.append(concept, "singlePromptConfig.tools", conv.tool, path, status, note)


@transform("inline_tools")
def inline_tools(ctx: MapContext, concept: Concept) -> None:
    found = _source_list(ctx, concept, "a list of tools", "No inline tools")
    if found is None:
        return
    path, value = found
    for i, tool in enumerate(value):
        tool_path = paths.join(path, i)
        if not isinstance(tool, dict):
            _wrong_type(ctx, concept, tool_path, "a tool object", tool)
        elif tool.get("type") == "system":
            map_system_tool(ctx, concept, system_tool_type(str(tool.get("name", "")), tool), tool, tool_path)
        else:
            _non_system_tool(ctx, concept, tool, tool_path)


@transform("tool_ids")
def tool_ids(ctx: MapContext, concept: Concept) -> None:
    found = _source_list(ctx, concept, "a list of tool ids", "No workspace tools")
    if found is None:
        return
    path, value = found
    seen: set[str] = set()
    for i, tool_id in enumerate(value):
        item_path = paths.join(path, i)
        if not isinstance(tool_id, str):
            _wrong_type(ctx, concept, item_path, "a tool id", tool_id)
            continue
        if tool_id in seen:
            ctx.finding(
                item_path, "ignored", "info", f"Tool {tool_id} is listed twice; migrated once.", concept=concept
            )
            continue
        seen.add(tool_id)
        cfg = tool_config_of(ctx.source.tools.get(tool_id))
        if cfg is None:
            ctx.finding(
                item_path,
                "unmapped",
                "warning",
                f"Tool {tool_id} was not fetched, so it cannot be migrated.",
                "Migrate by agent id with ELEVENLABS_API_KEY set, or pass --tools-dir with the tool configs.",
                concept,
            )
        elif cfg.get("type") == "system":
            map_system_tool(ctx, concept, system_tool_type(str(cfg.get("name", "")), cfg), cfg, item_path)
        else:
            _non_system_tool(ctx, concept, cfg, item_path)


# --- knowledge base ------------------------------------------------------------------------

KB_NAME_MAX = 40  # Atoms §F.6


def kb_name(agent_name: str) -> str:
    return agent_name.strip()[:KB_NAME_MAX].strip() or "atoms-migrate"


def _document_action(locator: dict[str, Any], record: dict[str, Any]) -> tuple[str, str, str]:
    """(how it is sent, what, why lossy or ""): url -> scrape, PDF file -> upload, text/other file -> render to PDF."""
    kind = record.get("type") or locator.get("type")
    name = str(record.get("name") or locator.get("name") or record.get("id"))
    if kind == "url" and isinstance(record.get("url"), str):
        return "url", record["url"], ""
    filename = str(record.get("filename") or name)
    if kind == "file" and filename.lower().endswith(".pdf"):
        return "pdf", filename, ""
    pdf_name = (filename.rsplit(".", 1)[0] if "." in filename else filename) + ".pdf"
    if kind == "file" and not filename.lower().endswith((".txt", ".md", ".html", ".htm")):
        return (
            "render",
            pdf_name,
            f"{filename}: its extracted text is rendered to PDF; layout, images and tables are not kept",
        )
    return "render", pdf_name, ""


@transform("knowledge_base")
def knowledge_base(ctx: MapContext, concept: Concept) -> None:
    """EL §D -> Atoms §F.6: one knowledge base per agent, documents sent as PDF or URL."""
    found = _source_list(ctx, concept, "a list of documents", "No knowledge-base documents")
    if found is None:
        return
    path, value = found
    options = ctx.options
    documents: list[dict[str, Any]] = []
    lossy: list[str] = []
    for i, locator in enumerate(value):
        item_path = paths.join(path, i)
        if not isinstance(locator, dict) or not isinstance(locator.get("id"), str):
            _wrong_type(ctx, concept, item_path, "a document reference {type, name, id}", locator)
            continue
        name = str(locator.get("name") or locator["id"])
        record = ctx.source.documents.get(locator["id"])
        if locator.get("type") == "folder" or (record or {}).get("type") == "folder":
            ctx.finding(
                item_path,
                "unmapped",
                "warning",
                f"Knowledge-base folder {name!r}: its documents are not migrated.",
                "Attach the folder's documents to the agent one by one in ElevenLabs, then migrate again.",
                concept,
            )
            continue
        if record is None:
            ctx.finding(
                item_path,
                "unmapped",
                "warning",
                f"Knowledge-base document {name!r} was not read, so it is not migrated.",
                "Migrate with ELEVENLABS_API_KEY set: the documents are read from ElevenLabs.",
                concept,
            )
            continue
        how, what, why = _document_action(locator, record)
        if why:
            lossy.append(why)
        if locator.get("usage_mode") == "prompt":
            lossy.append(
                f"{name}: ElevenLabs put it in the prompt on every turn; on Atoms it is retrieved when relevant"
            )
        if locator["id"] not in options.kb_documents:
            documents.append({"id": locator["id"], "name": name, "send": how, "as": what})
    if not documents and not options.kb_documents:
        return
    kb_ref = options.kb_id or late_ref("kb", ctx.source.key)
    kept = len(options.kb_documents)
    note = (
        f"{len(documents)} document(s) to send"
        + (f", {kept} sent earlier" if kept else "")
        + (("; " + "; ".join(lossy)) if lossy else "")
    )
    ctx.assign(concept, "globalKnowledgeBaseId", kb_ref, path, "lossy" if lossy else "mapped", note)
    if ctx.get("conversation_config.agent.prompt.rag.enabled") is True:
        tool = {
            "type": "knowledge_base_search",
            "name": ctx.unique_tool_name("knowledge_base_search"),
            "description": concept.params.get("search_tool_description", "Search the knowledge base."),
            "knowledgeBaseId": kb_ref,
            "fillerPhrases": list(concept.params.get("filler_phrases", [])),
        }
        ctx.append(
            concept,
            "singlePromptConfig.tools",
            tool,
            "conversation_config.agent.prompt.rag.enabled",
            "mapped",
            "ElevenLabs RAG is on: the agent searches the knowledge base with a tool.",
        )
    if documents or options.kb_id is None:
        agent_name = ctx.source.name or ctx.source.label
        ctx.resources.append(
            Step(
                "knowledge_base",
                f"{'create' if options.kb_id is None else 'add to'} knowledge base {kb_name(agent_name)!r}: "
                f"{len(documents)} document(s) (PDF upload, URL scrape), then wait for processing",
                {
                    "key": ctx.source.key,
                    "kb_id": options.kb_id,
                    "ref": kb_ref,
                    "name": kb_name(agent_name),
                    "documents": documents,
                },
            )
        )


# --- post-call analytics, privacy, workflow -------------------------------------------------


def _identifier(ctx: MapContext, raw: str, taken: set[str]) -> str:
    """Atoms disposition identifiers match ^[a-z0-9_]+$ (Atoms §B.8) and must be unique."""
    base = re.sub(r"[^a-z0-9_]+", "_", raw.lower()).strip("_") or "metric"
    ident, n = base, 2
    while ident in taken:
        ident, n = f"{base}_{n}", n + 1
    taken.add(ident)
    return ident


_METRIC_TYPES = {"boolean": "BOOLEAN", "string": "STRING", "integer": "INTEGER", "number": "STRING"}


@transform("data_collection")
def data_collection(ctx: MapContext, concept: Concept) -> None:
    found = _source_value(ctx, concept)
    if found is None:
        return
    path, value = found
    if not isinstance(value, dict):
        _wrong_type(ctx, concept, path, "an object keyed by item id", value)
        return
    if not value:
        ctx.empty(concept, path, "No data-collection items")
    taken = ctx.metric_ids
    for item_id, item in value.items():
        item_path = paths.join(path, item_id)
        if not isinstance(item, dict):
            _wrong_type(ctx, concept, item_path, "a data-collection item", item)
            continue
        kind = item.get("type")
        metric_type = _METRIC_TYPES.get(kind) if isinstance(kind, str) else None
        if metric_type is None:
            ctx.finding(
                item_path,
                "unmapped",
                "warning",
                f"Data-collection item {item_id!r} has unknown type {kind!r}.",
                concept=concept,
            )
            continue
        described = _optional_text(ctx, concept, paths.join(item_path, "description"), item.get("description"))
        prompt_text = described or f"Extract {item_id} from the conversation."
        metric: dict[str, Any] = {
            "identifier": _identifier(ctx, str(item_id), taken),
            "dispositionMetricPrompt": prompt_text,
            "dispositionMetricType": metric_type,
        }
        status, note = "mapped", ""
        if isinstance(item.get("enum"), list) and item["enum"] and kind == "string":
            metric["dispositionMetricType"] = "ENUM"
            metric["choices"] = [str(c) for c in item["enum"]]
        if kind == "number":
            status, note = "lossy", "Atoms has no decimal metric type; extracted as text."
        if not described:
            status, note = "lossy", "No description in the source; a generic prompt was written."
        ctx.append(concept, concept.target[0], metric, item_path, status, note)


@transform("evaluation")
def evaluation(ctx: MapContext, concept: Concept) -> None:
    found = _source_list(ctx, concept, "a list of criteria", "No evaluation criteria")
    if found is None:
        return
    path, value = found
    taken = ctx.metric_ids
    for i, criterion in enumerate(value):
        item_path = paths.join(path, i)
        goal = criterion.get("conversation_goal_prompt") if isinstance(criterion, dict) else None
        # Hand-written exports put the goal under `description`; accept it and say so.
        from_description = not (isinstance(goal, str) and goal.strip()) and isinstance(criterion, dict)
        if from_description:
            goal = criterion.get("description")
        if not isinstance(goal, str) or not goal.strip():
            ctx.finding(
                item_path,
                "unmapped",
                "warning",
                "Evaluation criterion without a goal prompt; not migrated.",
                concept=concept,
            )
            continue
        ident = _identifier(ctx, str(criterion.get("name") or criterion.get("id") or f"criterion_{i}"), taken)
        metric: dict[str, Any] = {
            "identifier": ident,
            "dispositionMetricPrompt": goal.strip(),
            "dispositionMetricType": "ENUM",
            "choices": ["success", "failure", "unknown"],
        }
        status, note = "mapped", "Success criterion -> ENUM success / failure / unknown, like ElevenLabs' result."
        if from_description:
            status, note = "lossy", "Goal read from `description` (no conversation_goal_prompt)."
        if criterion.get("scoring_mode") == "numeric_uniform":
            metric = {k: v for k, v in metric.items() if k != "choices"} | {"dispositionMetricType": "INTEGER"}
            status, note = "lossy", "Numeric score; the score scale and instructions are not carried over."
        ctx.append(concept, concept.target[0], metric, item_path, status, note)


@transform("redaction")
def redaction(ctx: MapContext, concept: Concept) -> None:
    """Atoms redacts transcripts by default (Atoms §H.10): always state the choice."""
    found = _source_value(ctx, concept)
    if found is None or not isinstance(found[1], dict):
        ctx.assign(
            concept,
            "redactionConfig.isEnabled",
            False,
            concept.source,
            "defaulted",
            "ElevenLabs does not redact unless asked; Atoms redacts by default, so redaction is turned off.",
        )
        return
    path, value = found
    enabled = bool(value.get("enabled"))
    entities = value.get("entities")
    status, note = "mapped", ""
    if enabled and isinstance(entities, list) and entities:
        status, note = "lossy", "Atoms redaction is on/off; the entity list is not carried over."
    ctx.assign(concept, "redactionConfig.isEnabled", enabled, path, status, note)


@transform("workflow")
def workflow(ctx: MapContext, concept: Concept) -> None:
    """EL §A.11; Atoms §H.31: migrate as single_prompt, refuse to flatten real graphs silently."""
    found = _source_value(ctx, concept)
    ctx.assign(concept, "workflowType", "single_prompt", concept.source, "defaulted" if found is None else "mapped")
    if found is None:
        return
    path, value = found
    nodes = value.get("nodes") if isinstance(value, dict) else None
    edges = value.get("edges") if isinstance(value, dict) else None
    node_types = (
        [n.get("type") for n in (nodes or {}).values() if isinstance(n, dict)] if isinstance(nodes, dict) else []
    )
    real = [t for t in node_types if t not in ("start", "end")]
    if not real:
        ctx.finding(
            path,
            "ignored",
            "info",
            "Trivial workflow (start node only): the agent is a single prompt.",
            concept=concept,
        )
    else:
        ctx.finding(
            path,
            "unmapped",
            "error",
            f"Multi-node workflow ({len(node_types)} nodes, {len(edges or {})} edges) cannot be migrated; only the main prompt is.",
            "Fold the subagent prompts into one prompt, or rebuild the flow on Atoms by hand.",
            concept,
        )
    for node_id, node in (nodes or {}).items() if isinstance(nodes, dict) else []:
        tool_ids = (
            [t.get("tool_id") for t in node.get("tools") or [] if isinstance(t, dict)] if isinstance(node, dict) else []
        )
        tool_ids += list(node.get("additional_tool_ids") or []) if isinstance(node, dict) else []
        if tool_ids:  # EL §C.2: workflow nodes reference tools the agent itself may not list
            ctx.finding(
                paths.join(path, "nodes", node_id),
                "unmapped",
                "warning",
                f"Workflow node {node_id!r} uses tool(s) {', '.join(map(str, tool_ids))}; they are not migrated with the workflow.",
                "Add the tools to the agent's tool_ids if the single-prompt agent should call them.",
                concept,
            )


# --- post-call webhook ------------------------------------------------------------------------


@transform("post_call_webhook")
def post_call_webhook(ctx: MapContext, concept: Concept) -> None:
    """EL §A.9 ``workspace_overrides.webhooks`` -> an Atoms webhook and a subscription (Atoms §K.3).

    The agent names a workspace webhook by id; its URL comes from the workspace (read by
    gather.py). Without an override, the workspace's own post-call webhook (convai settings)
    applies to the agent on ElevenLabs, so it is migrated the same way. The step is carried
    out after the agent exists (postcall.py). The receiving endpoint must change whatever
    happens: payload and signature differ, so that is a finding.
    """
    found = _source_value(ctx, concept)
    inherited = ""
    if found is None:
        if not ctx.source.inherited_post_call.get("post_call_webhook_id"):
            return
        found, inherited = (
            (concept.source, dict(ctx.source.inherited_post_call)),
            "The workspace's post-call webhook (the agent has no override): ",
        )
    path, value = found
    if not isinstance(value, dict):
        _wrong_type(ctx, concept, path, "an object {post_call_webhook_id, events, ...}", value)
        return
    hook_id = value.get("post_call_webhook_id")
    if not hook_id:
        ctx.finding(
            path, "ignored", "info", "No post-call webhook is set (post_call_webhook_id is empty).", "", concept
        )
        return
    record = ctx.source.webhooks.get(str(hook_id))
    url = (record or {}).get("webhook_url")
    if not isinstance(url, str) or not url:
        ctx.finding(
            path,
            "unmapped",
            "warning",
            f"{inherited}Post-call webhook {hook_id}: its URL is kept in the ElevenLabs workspace and was not read, so it is not migrated.",
            "Migrate with ELEVENLABS_API_KEY set (the URL is read from GET /v1/workspace/webhooks), "
            "or add the webhook in the Atoms dashboard.",
            concept,
        )
        return
    if (record or {}).get("is_disabled") or (record or {}).get("is_auto_disabled"):
        ctx.finding(
            path,
            "unmapped",
            "info",
            f"{inherited}Post-call webhook {url} is disabled on ElevenLabs, so it is not migrated.",
            "Enable it on ElevenLabs and migrate again, or add it in the Atoms dashboard.",
            concept,
        )
        return
    analysis = any(ctx.get(p) for p in concept.params.get("analysis_sources", []))
    event_types = ["post-conversation", *(["analytics-completed"] if analysis else [])]
    carried = set(concept.params.get("carried_events", []))
    lost = [str(e) for e in value.get("events") or [] if str(e) not in carried]
    extra = ""
    if lost:
        extra += f" ElevenLabs also sent {', '.join(lost)}: Atoms' post-conversation event has no such part."
    if value.get("transcript_format") == "opentelemetry":
        extra += " The OpenTelemetry transcript format has no Atoms equivalent (Atoms sends JSON)."
    if value.get("exclude_transcript"):
        extra += " ElevenLabs left the transcript out; Atoms' post-conversation payload includes it."
    ctx.resources.append(
        Step(
            "webhook",
            f"subscribe the agent to the Atoms webhook for {url} ({', '.join(event_types)}); "
            "the webhook is reused when Atoms has one with this URL, else created",
            {
                "url": url,
                "event_types": event_types,
                "elevenlabs_webhook_id": str(hook_id),
                "description": f"Post-call webhook migrated by atoms-migrate from ElevenLabs webhook {(record or {}).get('name') or hook_id}",
            },
        )
    )
    ctx.finding(
        path,
        "lossy",
        "warning",
        f"{inherited}Post-call webhook {url} -> Atoms webhook ({', '.join(event_types)}). The receiving endpoint must change: "
        "Atoms posts its own payload shape and signs it with X-Signature (HMAC-SHA256 of the body, keyed by the "
        "Atoms webhook's signing secret) instead of ElevenLabs' signature header." + extra,
        "Update the endpoint before switching calls to Atoms: parse the Atoms payload and verify X-Signature with the "
        "signing secret atoms-migrate shows once when it creates the webhook (also in the Atoms dashboard).",
        concept,
    )
