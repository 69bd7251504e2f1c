"""Voices: the Lightning v3.1 catalog, ElevenLabs voice traits, and nearest-voice suggestions.

ElevenLabs voice ids never work on Atoms (smallest-atoms-api.md §A.9). Premade voices go
through ``mappings/voices.yaml``; any other voice (library, cloned, designed) is matched
by its labels (elevenlabs-convai-api.md §E.2: gender, accent, age, language) against the
live catalog's tags (§E.2 of the Atoms reference: lowercase words such as ``american``,
``middle aged``, ``english``), or against the table's own targets when no catalog was
read. The agent's language weighs first (a voice must speak it, Atoms §K.4), then gender,
then accent and age. A suggestion carries a confidence: ``high`` when every known trait
matches, ``medium`` when gender and language do, ``low`` otherwise; never ``high`` when the
voice does not speak the agent's language. Pure; the catalog is fetched by the Atoms client
and passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from atoms_migrate import paths
from atoms_migrate.mapping.refs import late_ref
from atoms_migrate.mapping.schema import VoiceEntry, VoiceTable

LANGUAGE_NAMES = {
    "en": "english",
    "hi": "hindi",
    "es": "spanish",
    "ta": "tamil",
    "kn": "kannada",
    "mr": "marathi",
    "te": "telugu",
    "or": "odia",
    "pa": "punjabi",
    "ml": "malayalam",
    "gu": "gujarati",
    "bn": "bengali",
    "fr": "french",
    "de": "german",
    "it": "italian",
    "pt": "portuguese",
    "ar": "arabic",
    "ru": "russian",
    "ja": "japanese",
    "zh": "chinese",
    "nl": "dutch",
}
# Language outweighs every other trait together: a voice that cannot speak the agent's language
# is never preferred to one that can (Atoms §K.4).
_WEIGHTS = {"language": 8, "gender": 4, "accent": 2, "age": 1}


def _norm(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().lower().replace("_", " ").replace("-", " ")
    return {
        "middle age": "middle aged",
        "old": "senior",
        "elderly": "senior",
        "us": "american",
        "uk": "british",
        "english (us)": "american",
        "non binary": "neutral",
    }.get(text, text)


def language_name(code_or_name: Any) -> str | None:
    """``en``, ``en-US``, ``English`` -> ``english`` (the catalog's tag words)."""
    value = _norm(code_or_name)
    if value is None:
        return None
    return LANGUAGE_NAMES.get(value.split(" ")[0], value)


@dataclass(frozen=True)
class CatalogVoice:
    voice_id: str
    name: str
    gender: str | None = None
    accent: str | None = None
    age: str | None = None
    languages: tuple[str, ...] = ()


def parse_catalog(body: Any) -> list[CatalogVoice]:
    """``get_voices`` answers ``{"voices": [...]}`` with no envelope; accept an enveloped one too."""
    if isinstance(body, dict) and isinstance(body.get("data"), (dict, list)):
        body = body["data"]
    items = body.get("voices") if isinstance(body, dict) else body
    out = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("voiceId"), str):
            continue
        tags = paths.as_dict(item.get("tags"))
        raw_languages = tags.get("language")
        languages = raw_languages if isinstance(raw_languages, list) else [raw_languages]
        out.append(
            CatalogVoice(
                item["voiceId"],
                str(item.get("displayName") or item["voiceId"]),
                _norm(tags.get("gender")),
                _norm(tags.get("accent")),
                _norm(tags.get("age")),
                tuple(n for n in (language_name(x) for x in languages) if n),
            )
        )
    return out


@dataclass(frozen=True)
class Traits:
    """What is known about a source voice; None where unknown."""

    name: str
    gender: str | None = None
    accent: str | None = None
    age: str | None = None
    language: str | None = None
    category: str | None = None

    def describe(self) -> str:
        known = [t for t in (self.gender, self.age, self.accent, self.language) if t]
        return ", ".join(known) or "no labels"


def traits_from_elevenlabs(voice: dict[str, Any]) -> Traits:
    """Traits from ``GET /v1/voices/{id}`` (EL §E.2): labels, else verified languages."""
    labels = paths.as_dict(voice.get("labels"))
    language = labels.get("language")
    verified = voice.get("verified_languages")
    if not language and isinstance(verified, list) and verified and isinstance(verified[0], dict):
        language = verified[0].get("language")
    gender = _norm(labels.get("gender"))
    return Traits(
        name=str(voice.get("name") or voice.get("voice_id") or "voice").split(" - ")[0],
        gender=gender if gender in ("male", "female") else None,
        accent=_norm(labels.get("accent")),
        age=_norm(labels.get("age")),
        language=language_name(language),
        category=_norm(voice.get("category")),
    )


def table_candidates(table: VoiceTable) -> list[CatalogVoice]:
    """The voices.yaml targets as candidates, for suggestions without a live catalog."""
    seen: dict[str, CatalogVoice] = {}
    for entry in table.voices:
        seen.setdefault(
            entry.target,
            CatalogVoice(
                entry.target,
                entry.target.title(),
                entry.gender,
                _norm(entry.accent),
                None,
                tuple(n for n in [language_name(entry.language)] if n),
            ),
        )
    for code, voices in table.language_voices.items():
        for voice in voices:  # Indic catalog voices speak Hindi and English (§E.2)
            languages = (language_name(code),) + (("english",) if voice.accent == "indian" else ())
            seen.setdefault(
                voice.target,
                CatalogVoice(
                    voice.target,
                    voice.target.title(),
                    voice.gender,
                    _norm(voice.accent),
                    None,
                    tuple(n for n in languages if n),
                ),
            )
    return list(seen.values())


@dataclass(frozen=True)
class Suggestion:
    voice: CatalogVoice
    score: int
    confidence: str
    matched: tuple[str, ...]

    def reason(self) -> str:
        return f"matches {', '.join(self.matched)}" if self.matched else "no trait matches"


def suggest(traits: Traits, candidates: Iterable[CatalogVoice], limit: int = 3) -> list[Suggestion]:
    """The best catalog voices for ``traits``, best first; ties keep catalog order."""
    scored = []
    for voice in candidates:
        matched, score = [], 0
        for trait, weight in _WEIGHTS.items():
            want = getattr(traits, trait)
            if want is None:
                continue
            have = want in voice.languages if trait == "language" else getattr(voice, trait) == want
            if have:
                matched.append(trait)
                score += weight
            elif trait == "gender" and getattr(voice, trait) is not None:
                score -= weight  # a different gender is worse than an unknown one
        scored.append(Suggestion(voice, score, _confidence(traits, matched), tuple(matched)))
    scored.sort(key=lambda s: -s.score)  # stable: ties keep catalog order
    return scored[:limit]


def _confidence(traits: Traits, matched: list[str]) -> str:
    known = [t for t in _WEIGHTS if getattr(traits, t) is not None]
    if known and set(known) <= set(matched) and len(known) >= 3:
        return "high"
    if "gender" in matched and ("language" in matched or traits.language is None):
        return "medium"
    return "low"


@dataclass(frozen=True)
class Pick:
    """The Atoms voice planned for one ElevenLabs voice, and how it was chosen."""

    elevenlabs_id: str
    traits: Traits
    target: str | None  # None: nothing usable (not in the catalog); a ref for a clone made during the apply
    gender: str | None
    basis: str  # table | suggested | fallback | clone
    confidence: str
    rationale: str
    in_catalog: bool | None  # None when no catalog was read
    alternatives: tuple[Suggestion, ...] = ()
    languages: tuple[str, ...] | None = None  # what the chosen voice speaks (catalog or table), None when unknown
    language: str | None = None  # the agent's language (catalog word) the voice was chosen for

    @property
    def speaks_language(self) -> bool | None:
        """Whether the chosen voice speaks the agent's language (None when either is unknown)."""
        if self.language is None or self.languages is None or not self.languages:
            return None
        return self.language in self.languages


def pick_voice(
    voice_id: str,
    table: VoiceTable,
    record: dict[str, Any] | None,
    catalog: tuple[CatalogVoice, ...] | None,
    clone: bool = False,
    clones: dict[str, str] | None = None,
    language: str | None = None,
) -> Pick:
    """Choose the Atoms voice for ``voice_id`` in an agent speaking ``language`` (an Atoms code).

    Table entry, clone, labelled suggestion, or the fallback for the language. A premade voice
    whose table voice does not speak the agent's language is replaced by the nearest voice that
    does (``basis`` "language"); confidence is never high when the language does not match.
    """
    clones = clones or {}
    wanted = language_name(language) if language else None
    entry = table.lookup(voice_id)
    traits = traits_from_elevenlabs(record) if record else Traits(voice_id)
    candidates = catalog if catalog is not None else tuple(table_candidates(table))
    if entry is None and clone and (record is not None or voice_id in clones):
        made = voice_id in clones
        return Pick(
            voice_id,
            traits,
            clones.get(voice_id) or late_ref("voice", voice_id),
            None,
            "clone",
            "high",
            f"{traits.name} -> instant clone on Smallest ({'made earlier' if made else 'made during the apply'})",
            None,
        )
    if wanted is not None:  # the agent's language, not the voice's label, decides what the voice must speak
        traits = Traits(traits.name, traits.gender, traits.accent, traits.age, wanted, traits.category)
    if entry is not None:
        choice = _from_table(entry, wanted, candidates, table)
    elif record is not None:
        found = _from_labels(traits, candidates)
        if found is None:
            return Pick(
                voice_id, traits, None, None, "suggested", "low", "no catalog voice to suggest", False, language=wanted
            )
        choice = found
    else:
        fallback = table.fallback_for(language)
        choice = _Choice(
            Traits(voice_id, fallback.gender, language=wanted),
            fallback.target,
            fallback.gender,
            "fallback",
            "low",
            fallback.rationale,
        )
    return _checked(voice_id, choice, catalog, candidates, table, wanted)


@dataclass(frozen=True)
class _Choice:
    """A voice chosen by one basis, before it is checked against the catalog and the agent's language."""

    traits: Traits
    target: str
    gender: str | None
    basis: str
    confidence: str
    rationale: str


def _from_table(
    entry: VoiceEntry, wanted: str | None, candidates: tuple[CatalogVoice, ...], table: VoiceTable
) -> _Choice:
    """The voice table's entry; when its voice does not speak the agent's language, the nearest one that does."""
    traits = Traits(
        entry.elevenlabs_name,
        entry.gender,
        _norm(entry.accent),
        None,
        wanted or language_name(entry.language),
        "premade",
    )
    if wanted is not None and not _speaks(entry.target, wanted, candidates, table):
        best = [s for s in suggest(traits, candidates, limit=1) if wanted in s.voice.languages]
        if best:
            target = best[0].voice.voice_id
            return _Choice(
                traits,
                target,
                best[0].voice.gender,
                "language",
                "medium" if "gender" in best[0].matched else "low",
                f"{entry.elevenlabs_name} maps to {entry.target!r}, which does not speak {wanted}; "
                f"{target!r} does ({best[0].reason()})",
            )
    return _Choice(traits, entry.target, entry.gender, "table", entry.confidence, entry.rationale)


def _from_labels(traits: Traits, candidates: tuple[CatalogVoice, ...]) -> _Choice | None:
    """The candidate nearest to the source voice's ElevenLabs labels, or None when there is no candidate."""
    best = suggest(traits, candidates, limit=1)
    if not best:
        return None
    rationale = f"{traits.category or 'voice'} with labels {traits.describe()}; {best[0].reason()}"
    return _Choice(traits, best[0].voice.voice_id, best[0].voice.gender, "suggested", best[0].confidence, rationale)


def _checked(
    voice_id: str,
    choice: _Choice,
    catalog: tuple[CatalogVoice, ...] | None,
    candidates: tuple[CatalogVoice, ...],
    table: VoiceTable,
    wanted: str | None,
) -> Pick:
    """The pick for a choice: nothing usable when the account's catalog lacks it, never high confidence when
    the voice does not speak the agent's language, with look-alikes as alternatives."""
    traits, target, confidence = choice.traits, choice.target, choice.confidence
    in_catalog = None if catalog is None else any(v.voice_id == target for v in catalog)
    spoken = _languages_of(target, candidates, table)
    if wanted is not None and spoken is not None and wanted not in spoken and confidence == "high":
        confidence = "low"
    alternatives = tuple(s for s in suggest(traits, candidates, limit=4) if s.voice.voice_id != target)[:3]
    if choice.basis == "table":
        # The table's traits describe its chosen voice: these are look-alikes of it, not better matches.
        alternatives = tuple(Suggestion(s.voice, s.score, "similar", s.matched) for s in alternatives)
    if in_catalog is False:
        return Pick(
            voice_id,
            traits,
            None,
            None,
            choice.basis,
            confidence,
            f"{target!r} is not in this account's catalog",
            False,
            alternatives,
            language=wanted,
        )
    return Pick(
        voice_id,
        traits,
        target,
        choice.gender,
        choice.basis,
        confidence,
        choice.rationale,
        in_catalog,
        alternatives,
        spoken,
        wanted,
    )


def _languages_of(voice_id: str, candidates: Iterable[CatalogVoice], table: VoiceTable) -> tuple[str, ...] | None:
    """What a voice speaks: its catalog (or table) languages; None when nothing says."""
    for voice in candidates:
        if voice.voice_id == voice_id:
            return voice.languages or None
    for voice in table_candidates(table):
        if voice.voice_id == voice_id:
            return voice.languages or None
    return None


def _speaks(voice_id: str, language: str, candidates: Iterable[CatalogVoice], table: VoiceTable) -> bool:
    spoken = _languages_of(voice_id, candidates, table)
    return spoken is None or language in spoken


def pick_to_dict(role: str, pick: Pick) -> dict[str, Any]:
    t = pick.traits
    return {
        "role": role,
        "elevenlabs_id": pick.elevenlabs_id,
        "elevenlabs_name": t.name,
        "traits": {
            "gender": t.gender,
            "accent": t.accent,
            "age": t.age,
            "language": t.language,
            "category": t.category,
        },
        "target": pick.target,
        "basis": pick.basis,
        "confidence": pick.confidence,
        "in_catalog": pick.in_catalog,
        "rationale": pick.rationale,
        "languages": list(pick.languages) if pick.languages is not None else None,
        "alternatives": [
            {"voice_id": s.voice.voice_id, "confidence": s.confidence, "matched": list(s.matched)}
            for s in pick.alternatives
        ],
    }
