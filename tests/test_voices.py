"""Voice traits, catalog parsing, suggestions and picks (voices.py), plus the clip cutter (audio.py)."""

from __future__ import annotations

import io
import wave

import pytest

from atoms_migrate.apply.audio import MAX_SECONDS, prepare_clip
from atoms_migrate.mapping.refs import is_ref
from atoms_migrate.mapping.tables import load_tables
from atoms_migrate.mapping.voices import (
    CatalogVoice,
    Traits,
    parse_catalog,
    pick_voice,
    suggest,
    traits_from_elevenlabs,
)
from atoms_migrate.source.shapes import voice_roles

CATALOG = (
    CatalogVoice("ava", "Ava", "female", "american", "young", ("english",)),
    CatalogVoice("bea", "Bea", "female", "british", "middle aged", ("english",)),
    CatalogVoice("raj", "Raj", "male", "indian", "young", ("english", "hindi")),
    CatalogVoice("tom", "Tom", "male", "british", "senior", ("english",)),
)


@pytest.mark.parametrize(
    "labels, expected",
    [
        (
            {"gender": "female", "accent": "british", "age": "middle_aged", "language": "en"},
            Traits("V", "female", "british", "middle aged", "english"),
        ),
        ({"gender": "male", "age": "old", "accent": "US"}, Traits("V", "male", "american", "senior", None)),
        ({"gender": "non-binary"}, Traits("V", None, None, None, None)),
        ({}, Traits("V")),
    ],
)
def test_traits_from_elevenlabs_labels(labels, expected) -> None:
    assert traits_from_elevenlabs({"name": "V - tagline", "labels": labels}) == expected


@pytest.mark.parametrize(
    "traits, best, confidence",
    [
        (Traits("x", "female", "british", "middle aged", "english"), "bea", "high"),
        (Traits("x", "male", None, None, "hindi"), "raj", "medium"),
        (Traits("x", "male", "british", "senior", None), "tom", "high"),
        (Traits("x", "female", "indian", None, "english"), "ava", "medium"),  # no Indian female: gender + language
        (Traits("x", None, "british", None, None), "bea", "low"),
    ],
)
def test_suggest_ranks_by_gender_language_accent_age(traits, best, confidence) -> None:
    [top, *_] = suggest(traits, CATALOG)
    assert (top.voice.voice_id, top.confidence) == (best, confidence)


SPANISH = (
    *CATALOG,
    CatalogVoice("lola", "Lola", "female", "spanish", "young", ("spanish",)),
    CatalogVoice("pepe", "Pepe", "male", "spanish", "young", ("spanish",)),
)
ANA = {
    "voice_id": "libAna",
    "name": "Ana",
    "category": "professional",
    "labels": {"gender": "female", "accent": "indian", "age": "young", "language": "en"},
}
RAJ_LIKE = {
    "voice_id": "libRaj",
    "name": "Raj-like",
    "labels": {"gender": "male", "accent": "indian", "age": "young", "language": "en"},
}
RACHEL = "21m00Tcm4TlvDq8ikWAM"  # premade, mapped to an English voice in voices.yaml


# (id, voice id, ElevenLabs record, catalog (None: offline), agent language, expected target, basis,
#  allowed confidences)
LANGUAGE_ROWS = [
    (
        "library voice in a Spanish agent: a Spanish catalog voice, language first",
        "libAna",
        ANA,
        SPANISH,
        "es",
        "lola",
        "suggested",
        {"medium"},
    ),
    (
        "male library voice in a Spanish agent: the Spanish male",
        "libRaj",
        RAJ_LIKE,
        SPANISH,
        "es",
        "pepe",
        "suggested",
        {"medium"},
    ),
    (
        "library voice in a Spanish agent, no Spanish voice: never high",
        "libRaj",
        RAJ_LIKE,
        CATALOG,
        "es",
        "raj",
        "suggested",
        {"low"},
    ),
    ("English agent keeps the label match", "libRaj", RAJ_LIKE, CATALOG, "en", "raj", "suggested", {"high"}),
    (
        "unknown voice offline, Spanish agent: the Spanish fallback",
        "someVoice123",
        None,
        None,
        "es",
        "daniella",
        "fallback",
        {"low"},
    ),
    (
        "unknown voice offline, Hindi agent: the Hindi fallback",
        "someVoice123",
        None,
        None,
        "hi",
        "sunidhi",
        "fallback",
        {"low"},
    ),
    (
        "unknown voice offline, English agent: the English fallback",
        "someVoice123",
        None,
        None,
        "en",
        "emily",
        "fallback",
        {"low"},
    ),
    (
        "premade voice in a Spanish agent, offline: the table's Spanish voice of its gender",
        RACHEL,
        None,
        None,
        "es",
        "daniella",
        "language",
        {"medium"},
    ),
    (
        "premade voice in a Spanish agent, catalog: a Spanish catalog voice",
        RACHEL,
        None,
        SPANISH,
        "es",
        "lola",
        "language",
        {"medium"},
    ),
    (
        "premade voice in an English agent: the table",
        RACHEL,
        None,
        None,
        "en",
        None,
        "table",
        {"high", "medium", "low"},
    ),
]


@pytest.mark.parametrize(
    "voice_id, record, catalog, language, target, basis, confidences",
    [r[1:] for r in LANGUAGE_ROWS],
    ids=[r[0] for r in LANGUAGE_ROWS],
)
def test_voice_is_chosen_for_the_agent_language_first(
    voice_id, record, catalog, language, target, basis, confidences
) -> None:
    table = load_tables().voices
    pick = pick_voice(voice_id, table, record, catalog, language=language)
    assert pick.basis == basis
    assert pick.target == (target or table.lookup(voice_id).target)
    assert pick.confidence in confidences
    if pick.speaks_language is False:
        assert pick.confidence != "high"


def test_parse_catalog_reads_the_bare_and_the_enveloped_form() -> None:
    body = {
        "voices": [
            {
                "voiceId": "ava",
                "displayName": "Ava",
                "tags": {"language": ["english"], "accent": "american", "gender": "female", "age": "young"},
            },
            {"displayName": "no id"},
        ]
    }
    assert parse_catalog(body) == [CATALOG[0]]
    assert parse_catalog({"status": True, "data": body}) == [CATALOG[0]]


def test_pick_checks_the_catalog_and_offers_alternatives() -> None:
    table = load_tables().voices
    premade = table.voices[0]
    missing = pick_voice(premade.elevenlabs_id, table, None, CATALOG)
    assert missing.target is None and missing.in_catalog is False and missing.alternatives
    unchecked = pick_voice(premade.elevenlabs_id, table, None, None)
    assert unchecked.target == premade.target and unchecked.in_catalog is None


def test_pick_clones_only_when_asked_and_reuses_a_known_clone() -> None:
    table = load_tables().voices
    record = {"voice_id": "own1", "name": "Founder", "category": "cloned", "labels": {"gender": "male"}}
    assert pick_voice("own1", table, record, CATALOG).basis == "suggested"
    fresh = pick_voice("own1", table, record, CATALOG, clone=True)
    assert fresh.basis == "clone" and is_ref(fresh.target)
    assert pick_voice("own1", table, record, CATALOG, clone=True, clones={"own1": "voice_abc"}).target == "voice_abc"


def test_voice_roles_lists_main_supported_and_preset_voices() -> None:
    config = {
        "conversation_config": {
            "tts": {"voice_id": "a", "supported_voices": [{"label": "Calm", "voice_id": "b"}]},
            "language_presets": {"es": {"overrides": {"tts": {"voice_id": "c"}}}, "fr": {}},
        }
    }
    assert voice_roles(config) == [("main", "a"), ("supported voice Calm", "b"), ("language preset es", "c")]


def _wav(seconds: float, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x01" * int(rate * seconds))
    return out.getvalue()


def test_long_wav_is_cut_to_15_seconds_and_short_one_is_flagged() -> None:
    clip = prepare_clip(_wav(40), "audio/wav")
    with wave.open(io.BytesIO(clip.data)) as reader:
        assert reader.getnframes() / reader.getframerate() == MAX_SECONDS
    assert clip.notes == ["cut from 40.0 s to 15.0 s"]
    assert "only 2.0 s" in prepare_clip(_wav(2), "audio/wav").notes[0]


def test_mp3_is_cut_on_frame_boundaries() -> None:
    frame = bytes([0xFF, 0xFB, 0x90, 0x00]) + b"\x00" * 413  # MPEG-1 Layer III, 128 kbps, 44.1 kHz: 417 bytes, 26 ms
    clip = prepare_clip(b"ID3\x03\x00\x00\x00\x00\x00\x05" + b"12345" + frame * 2000, "audio/mpeg")
    assert len(clip.data) % 417 == 0 and clip.data[:2] == b"\xff\xfb"
    assert clip.seconds is not None and 14.9 < clip.seconds <= MAX_SECONDS
