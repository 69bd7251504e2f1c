"""Table-driven tests: one row per mapping rule (input fragment -> Atoms fields and findings)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import agent_config, make_source

from atoms_migrate.mapping.engine import map_agent, uncovered_leaves


def cfg(agent: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    base = agent_config(**(agent or {}))
    conversation = top.pop("conversation_config", {})
    base["conversation_config"].update(conversation)
    base.update(top)
    return base


P = "conversation_config.agent.prompt"
BUILT_IN = f"{P}.built_in_tools"
WEBHOOK = "platform_settings.workspace_overrides.conversation_initiation_client_data_webhook"
# ElevenLabs' default voice (Eric -> jordan) speaks English only: an agent in another language is told so (and gets
# a catalog voice that speaks it, where there is one).
VOICE_LANGUAGE = ("conversation_config.tts.voice_id", "lossy", "warning")


def system(kind: str, **params: Any) -> dict[str, Any]:
    return {"type": "system", "name": kind, "description": "", "params": {"system_tool_type": kind, **params}}


# (id, source config, expected {atoms path: (value, status)}, expected findings [(source_path, status, severity)])
ROWS: list[tuple[str, dict[str, Any], dict[str, tuple[Any, str]], list[tuple[str, str, str]]]] = [
    ("name", cfg(), {"name": ("T", "mapped")}, []),
    (
        "name missing -> file stem",
        {"conversation_config": agent_config()["conversation_config"]},
        {"name": ("test", "defaulted")},
        [],
    ),
    ("description", cfg(description="Sales line"), {"description": ("Sales line", "mapped")}, []),
    ("prompt", cfg({"prompt": {"prompt": "Be kind."}}), {"singlePromptConfig.prompt": ("Be kind.", "mapped")}, []),
    (
        "prompt system variable renamed",
        cfg({"prompt": {"prompt": "Caller {{ system__caller_id }}."}}),
        {"singlePromptConfig.prompt": ("Caller {{user_number}}.", "mapped")},
        [],
    ),
    (
        "prompt system variable without equivalent",
        cfg({"prompt": {"prompt": "Sid {{system__call_sid}}"}}),
        {"singlePromptConfig.prompt": ("Sid {{system__call_sid}}", "mapped")},
        [(f"{P}.prompt", "lossy", "warning")],
    ),
    (
        "prompt variable without default",
        cfg({"prompt": {"prompt": "Hi {{who}}"}}),
        {},
        [(f"{P}.prompt", "lossy", "warning")],
    ),
    (
        "empty prompt is no prompt: error, nothing sent",
        cfg({"prompt": {"prompt": ""}}),
        {"singlePromptConfig.prompt": None},
        [(f"{P}.prompt", "unmapped", "error")],
    ),
    (
        "absent prompt: error",
        cfg({"prompt": {"llm": "gpt-4o"}}),
        {"singlePromptConfig.prompt": None},
        [(f"{P}.prompt", "unmapped", "error")],
    ),
    (
        "prompt kept in another file (!include): error",
        cfg({"prompt": {"prompt": "!include prompts/main.md"}}),
        {"singlePromptConfig.prompt": None},
        [(f"{P}.prompt", "unmapped", "error")],
    ),
    (
        "prompt kept in another file (<<see ...>>): error",
        cfg({"prompt": {"prompt": "<<see prompt.txt>>"}}),
        {"singlePromptConfig.prompt": None},
        [(f"{P}.prompt", "unmapped", "error")],
    ),
    (
        "first message",
        cfg({"first_message": "Hello!"}),
        {"firstMessage": ("Hello!", "mapped"), "waitForUserToSpeakFirst": (False, "mapped")},
        [],
    ),
    (
        "empty first message: user speaks first",
        cfg({"first_message": ""}),
        {"waitForUserToSpeakFirst": (True, "mapped")},
        [("conversation_config.agent.first_message", "lossy", "warning")],
    ),
    (
        "first message over 500 chars is cut",
        cfg({"first_message": "word " * 120}),
        {},
        [("conversation_config.agent.first_message", "lossy", "warning")],
    ),
    (
        "first message under prompt (invented shape)",
        cfg({"first_message": None, "prompt": {"prompt": "x", "first_message": "Yo"}}),
        {"firstMessage": ("Yo", "mapped")},
        [(f"{P}.first_message", "lossy", "info")],
    ),
    (
        "language default",
        cfg({"language": "es"}),
        {
            "language.default": ("es", "mapped"),
            "language.supported": (["es"], "mapped"),
            "language.switching": ({"isEnabled": False}, "defaulted"),
        },
        [VOICE_LANGUAGE],
    ),
    (
        "voice: unknown voice in a Spanish agent gets the Spanish fallback",
        cfg({"language": "es"}, conversation_config={"tts": {"voice_id": "customVoice123"}}),
        {"synthesizer.voiceConfig.voiceId": ("daniella", "defaulted")},
        [("conversation_config.tts.voice_id", "unmapped", "warning")],
    ),
    (
        "voice: premade English voice in a Spanish agent becomes a Spanish voice, lossy",
        cfg({"language": "es"}, conversation_config={"tts": {"voice_id": "21m00Tcm4TlvDq8ikWAM"}}),
        {"synthesizer.voiceConfig.voiceId": ("daniella", "lossy")},
        [("conversation_config.tts.voice_id", "lossy", "warning")],
    ),
    (
        "voice: a supported language the voice does not speak is a warning",
        cfg(
            {"language": "en"},
            conversation_config={
                "tts": {"voice_id": "21m00Tcm4TlvDq8ikWAM"},
                "language_presets": {"hi": {"overrides": {}}},
            },
        ),
        {"synthesizer.voiceConfig.voiceId": ("rachel", "lossy"), "language.supported": (["en", "hi"], "mapped")},
        [("conversation_config.tts.voice_id", "lossy", "warning")],
    ),
    (
        "timezone without daylight saving -> {label, offset}",
        cfg({"prompt": {"prompt": "x", "timezone": "Asia/Kolkata"}}),
        {"timezone": ({"label": "Asia/Kolkata", "offset": 330}, "mapped")},
        [],
    ),
    (
        "timezone with daylight saving -> standard offset, lossy",
        cfg({"prompt": {"prompt": "x", "timezone": "America/New_York"}}),
        {"timezone": ({"label": "America/New_York", "offset": -300}, "lossy")},
        [(f"{P}.timezone", "lossy", "warning")],
    ),
    (
        "southern-hemisphere daylight saving -> standard offset",
        cfg({"prompt": {"prompt": "x", "timezone": "Australia/Sydney"}}),
        {"timezone": ({"label": "Australia/Sydney", "offset": 600}, "lossy")},
        [(f"{P}.timezone", "lossy", "warning")],
    ),
    (
        "unknown timezone reported",
        cfg({"prompt": {"prompt": "x", "timezone": "Mars/Olympus"}}),
        {"timezone": None},
        [(f"{P}.timezone", "unmapped", "warning")],
    ),
    (
        "custom LLM looked up by its model id; the endpoint's logic is an error",
        cfg(
            {
                "prompt": {
                    "prompt": "x",
                    "llm": "custom-llm",
                    "custom_llm": {"url": "https://llm.example.com/v1", "model_id": "gpt-4o"},
                }
            }
        ),
        {"slmModel": ("gpt-4o", "mapped")},
        [(f"{P}.llm", "unmapped", "error"), (f"{P}.custom_llm", "unmapped", "warning")],
    ),
    (
        "custom LLM with an unknown model id falls back, still an error",
        cfg(
            {
                "prompt": {
                    "prompt": "x",
                    "llm": "custom-llm",
                    "custom_llm": {"url": "https://llm.example.com/v1", "model_id": "my-finetune"},
                }
            }
        ),
        {"slmModel": ("electron", "defaulted")},
        # Current behaviour (reported to the lead as a possible double report): prompt.llm is both an error (the
        # endpoint's own behaviour is lost) and a warning (electron until configured).
        [
            (f"{P}.llm", "unmapped", "error"),
            (f"{P}.llm", "unmapped", "warning"),
            (f"{P}.custom_llm", "unmapped", "warning"),
        ],
    ),
    (
        "initiation webhook -> preCallAPI; placeholders are test values, lossy",
        cfg(
            {"dynamic_variables": {"dynamic_variable_placeholders": {"who": "a"}}},
            platform_settings={
                "overrides": {"enable_conversation_initiation_client_data_from_webhook": True},
                "workspace_overrides": {
                    "conversation_initiation_client_data_webhook": {
                        "url": "https://hooks.example.com/init",
                        "request_headers": {"X-Env": "prod", "X-Secret": {"secret_id": "s1"}},
                    }
                },
            },
        ),
        {
            "preCallAPI": (
                {
                    "isEnabled": True,
                    "url": "https://hooks.example.com/init",
                    "method": "POST",
                    "headers": {"X-Env": "prod"},
                    "body": {
                        "caller_id": "{{user_number}}",
                        "called_number": "{{agent_number}}",
                        "call_sid": "{{call_id}}",
                    },
                    "responseVariables": [{"variableName": "who", "jsonPath": "$.dynamic_variables.who"}],
                },
                "lossy",
            ),
            "defaultVariables.who": ("a", "lossy"),
        },
        [
            (WEBHOOK, "lossy", "warning"),
            ("conversation_config.agent.dynamic_variables.dynamic_variable_placeholders", "lossy", "warning"),
        ],
    ),
    (
        "initiation webhook configured but not enabled: not called, placeholders are defaults",
        cfg(
            {"dynamic_variables": {"dynamic_variable_placeholders": {"who": "a"}}},
            platform_settings={
                "workspace_overrides": {
                    "conversation_initiation_client_data_webhook": {"url": "https://hooks.example.com/init"}
                }
            },
        ),
        {"preCallAPI": None, "defaultVariables.who": ("a", "mapped")},
        [(WEBHOOK, "ignored", "info")],
    ),
    ("language regional code", cfg({"language": "en-US"}), {"language.default": ("en", "mapped")}, []),
    (
        "language unsupported default",
        cfg({"language": "fr"}),
        {"language.default": ("en", "defaulted")},
        [
            ("conversation_config.agent.language", "unmapped", "error"),
            ("conversation_config.agent.first_message", "lossy", "warning"),
        ],
    ),
    (
        "language presets + detection -> switching",
        cfg(
            {
                "language": "en",
                "prompt": {"prompt": "x", "built_in_tools": {"language_detection": system("language_detection")}},
            },
            conversation_config={"language_presets": {"hi": {"overrides": {}}, "de": {"overrides": {}}}},
        ),
        {"language.supported": (["en", "hi"], "mapped"), "language.switching": ({"isEnabled": True}, "mapped")},
        [("conversation_config.language_presets.de", "unmapped", "warning"), VOICE_LANGUAGE],
    ),
    (
        "preset greeting overrides are reported, not hidden",
        cfg(
            {"language": "en"},
            conversation_config={"language_presets": {"es": {"overrides": {"agent": {"first_message": "Hola"}}}}},
        ),
        {"language.supported": (["en", "es"], "mapped")},
        [("conversation_config.language_presets.es.overrides", "lossy", "warning"), VOICE_LANGUAGE],
    ),
    (
        "tamil cannot be combined",
        cfg({"language": "ta"}, conversation_config={"language_presets": {"en": {"overrides": {}}}}),
        {"language.supported": (["ta"], "mapped")},
        [("conversation_config.language_presets.en", "lossy", "warning"), VOICE_LANGUAGE],
    ),
    ("llm same model", cfg({"prompt": {"prompt": "x", "llm": "gpt-4o"}}), {"slmModel": ("gpt-4o", "mapped")}, []),
    (
        "llm dated variant",
        cfg({"prompt": {"prompt": "x", "llm": "gpt-4.1-2025-04-14"}}),
        {"slmModel": ("gpt-4.1", "mapped")},
        [],
    ),
    (
        "llm family approximation",
        cfg({"prompt": {"prompt": "x", "llm": "claude-sonnet-4@20250514"}}),
        {"slmModel": ("gpt-4.1", "lossy")},
        [],
    ),
    (
        "llm gated model",
        cfg({"prompt": {"prompt": "x", "llm": "gpt-5.2"}}),
        {"slmModel": ("gpt-5.2", "mapped")},
        [(f"{P}.llm", "lossy", "warning")],
    ),
    (
        "llm unknown value",
        cfg({"prompt": {"prompt": "x", "llm": "brand-new-llm"}}),
        {"slmModel": ("electron", "defaulted")},
        [(f"{P}.llm", "unmapped", "warning")],
    ),
    (
        "voice premade high confidence",
        cfg(conversation_config={"tts": {"voice_id": "onwK4e9ZLuTAKqWW03F9"}}),
        {
            "synthesizer.voiceConfig.voiceId": ("liam", "mapped"),
            "synthesizer.voiceConfig.gender": ("male", "mapped"),
            "synthesizer.voiceConfig.model": ("waves_lightning_v3_1", "defaulted"),
        },
        [],
    ),
    (
        "voice premade medium confidence",
        cfg(conversation_config={"tts": {"voice_id": "21m00Tcm4TlvDq8ikWAM"}}),
        {"synthesizer.voiceConfig.voiceId": ("rachel", "lossy")},
        [],
    ),
    (
        "voice unknown -> fallback",
        cfg(conversation_config={"tts": {"voice_id": "customVoice000000001"}}),
        {"synthesizer.voiceConfig.voiceId": ("emily", "defaulted")},
        [("conversation_config.tts.voice_id", "unmapped", "warning")],
    ),
    (
        "voice absent -> ElevenLabs default Eric",
        cfg(),
        {"synthesizer.voiceConfig.voiceId": ("jordan", "defaulted")},
        [],
    ),
    (
        "tts model",
        cfg(conversation_config={"tts": {"model_id": "eleven_turbo_v2"}}),
        {"synthesizer.voiceConfig.model": ("waves_lightning_v3_1", "mapped")},
        [],
    ),
    (
        "speed copied, lossy (scales not calibrated)",
        cfg(conversation_config={"tts": {"speed": 1.1}}),
        {"synthesizer.speed": (1.1, "lossy")},
        [],
    ),
    (
        "speed absent -> ElevenLabs' 1.0, not Atoms' 1.2",
        cfg(conversation_config={"tts": {"voice_id": "onwK4e9ZLuTAKqWW03F9"}}),
        {"synthesizer.speed": (1.0, "defaulted")},
        [],
    ),
    (
        "no tts section: every voice setting takes the September 2026 default",
        cfg(),
        {
            "synthesizer.speed": (1.0, "defaulted"),
            "synthesizer.consistency": (0.5, "defaulted"),
            "synthesizer.similarity": (0.8, "defaulted"),
            "sessionTimeoutConfig.timeoutTimeInSecs": (600, "defaulted"),
            "llmIdleTimeoutConfig.chatTimeoutTimeInSecs": (7, "defaulted"),
        },
        [],
    ),
    (
        "stability -> consistency",
        cfg(conversation_config={"tts": {"stability": 0.3}}),
        {"synthesizer.consistency": (0.3, "lossy")},
        [],
    ),
    (
        "similarity_boost -> similarity",
        cfg(conversation_config={"tts": {"similarity_boost": 0.9}}),
        {"synthesizer.similarity": (0.9, "lossy")},
        [],
    ),
    (
        "output format is a transport format, not a sample rate",
        cfg(conversation_config={"tts": {"agent_output_audio_format": "ulaw_8000"}}),
        {"synthesizer.sampleRate": None},
        [("conversation_config.tts.agent_output_audio_format", "unmapped", "info")],
    ),
    (
        "output format default is quiet",
        cfg(conversation_config={"tts": {"agent_output_audio_format": "pcm_16000"}}),
        {"synthesizer.sampleRate": None},
        [("conversation_config.tts.agent_output_audio_format", "ignored", "info")],
    ),
    (
        "audio tags stripped from the first message",
        cfg({"first_message": "[whispers] Hi there, [sounding like Jarvis] how can I help?"}),
        {"firstMessage": ("Hi there, how can I help?", "lossy")},
        [("conversation_config.agent.first_message", "lossy", "warning")],
    ),
    (
        "any short bracket is a tag for a v3 voice",
        cfg(
            {"first_message": "[mischievously pleased] Hello!"},
            conversation_config={"tts": {"model_id": "eleven_v3_conversational"}},
        ),
        {"firstMessage": ("Hello!", "lossy")},
        [("conversation_config.agent.first_message", "lossy", "warning")],
    ),
    (
        "a bracket that is not a known tag stays without a v3 voice",
        cfg({"first_message": "Hi [name]!"}),
        {"firstMessage": ("Hi [name]!", "mapped")},
        [],
    ),
    (
        "audio tags in a greeting quoted in the prompt are stripped; placeholders are not",
        cfg({"prompt": {"prompt": 'Open with "[excited] Welcome to Acme!" then ask "Find [name]?"'}}),
        {"singlePromptConfig.prompt": ('Open with "Welcome to Acme!" then ask "Find [name]?"', "lossy")},
        [("conversation_config.agent.prompt.prompt", "lossy", "warning")],
    ),
    (
        "unsupported primary language: the fallback preset's greeting is used",
        cfg(
            {"language": "sw", "first_message": "Habari! Nikusaidie nini?"},
            conversation_config={
                "language_presets": {"en": {"overrides": {"agent": {"first_message": "Hello! How can I help?"}}}}
            },
        ),
        {"firstMessage": ("Hello! How can I help?", "lossy"), "language.default": ("en", "defaulted")},
        [
            ("conversation_config.agent.first_message", "lossy", "warning"),
            ("conversation_config.agent.language", "unmapped", "error"),
        ],
    ),
    (
        "unsupported primary language without a fallback greeting: kept and said",
        cfg({"language": "sw", "first_message": "Habari!"}),
        {"firstMessage": ("Habari!", "lossy")},
        [
            ("conversation_config.agent.first_message", "lossy", "warning"),
            ("conversation_config.agent.language", "unmapped", "error"),
        ],
    ),
    (
        "dynamic variables -> defaultVariables",
        cfg({"dynamic_variables": {"dynamic_variable_placeholders": {"who": "Ana", "n": 3, "vip": True}}}),
        {
            "defaultVariables.who": ("Ana", "mapped"),
            "defaultVariables.n": (3, "mapped"),
            "defaultVariables.vip": (True, "mapped"),
        },
        [],
    ),
    (
        "secret variable never copied",
        cfg({"dynamic_variables": {"dynamic_variable_placeholders": {"secret__token": "abc"}}}),
        {},
        [
            (
                "conversation_config.agent.dynamic_variables.dynamic_variable_placeholders.secret__token",
                "lossy",
                "warning",
            )
        ],
    ),
    (
        "max duration",
        cfg(conversation_config={"conversation": {"max_duration_seconds": 900}}),
        {"sessionTimeoutConfig.timeoutTimeInSecs": (900, "mapped")},
        [],
    ),
    (
        "max duration clamped",
        cfg(conversation_config={"conversation": {"max_duration_seconds": 7200}}),
        {"sessionTimeoutConfig.timeoutTimeInSecs": (3600, "lossy")},
        [("conversation_config.conversation.max_duration_seconds", "lossy", "warning")],
    ),
    (
        "turn timeout -> idle timeouts",
        cfg(conversation_config={"turn": {"turn_timeout": 10}}),
        {
            "llmIdleTimeoutConfig.chatTimeoutTimeInSecs": (10, "mapped"),
            "llmIdleTimeoutConfig.telephonyTimeoutTimeInSecs": (10, "mapped"),
        },
        [],
    ),
    (
        "silence end call -> retries",
        cfg(conversation_config={"turn": {"turn_timeout": 10, "silence_end_call_timeout": 30}}),
        {"llmIdleTimeoutConfig.maxRetries": (2, "lossy")},
        [],
    ),
    (
        "silence end call disabled",
        cfg(conversation_config={"turn": {"silence_end_call_timeout": -1}}),
        {},
        [("conversation_config.turn.silence_end_call_timeout", "ignored", "info")],
    ),
    (
        "interruptions on",
        cfg(conversation_config={"conversation": {"client_events": ["audio", "interruption"]}}),
        {"allowInterruptions": (True, "mapped")},
        [],
    ),
    (
        "interruptions off",
        cfg(conversation_config={"conversation": {"client_events": ["audio"]}}),
        {"allowInterruptions": (False, "mapped")},
        [],
    ),
    (
        "first message not interruptible",
        cfg({"disable_first_message_interruptions": True}),
        {"muteUserUntilFirstBotResponse": (True, "mapped")},
        [],
    ),
    (
        "background sound",
        cfg(
            conversation_config={
                "conversation": {"background_sound": {"source_type": "preset", "source_id": "office2", "volume": 0.5}}
            }
        ),
        {"backgroundSound": ("office", "mapped")},
        [],
    ),
    (
        "end_call",
        cfg({"prompt": {"prompt": "x", "built_in_tools": {"end_call": system("end_call")}}}),
        {
            "singlePromptConfig.tools[0]": (
                {
                    "type": "end_call",
                    "name": "end_call",
                    "description": "End the call when the conversation is complete or the user says goodbye.",
                },
                "mapped",
            )
        },
        [],
    ),
    (
        "transfer_to_number",
        cfg(
            {
                "prompt": {
                    "prompt": "x",
                    "built_in_tools": {
                        "transfer_to_number": system(
                            "transfer_to_number",
                            transfers=[
                                {
                                    "transfer_destination": {"type": "phone", "phone_number": "+44 20 7946 0000"},
                                    "condition": "asks for sales",
                                    "transfer_type": "blind",
                                }
                            ],
                        )
                    },
                }
            }
        ),
        {
            "singlePromptConfig.tools[0]": (
                {
                    "type": "transfer_call",
                    "name": "transfer_call",
                    "description": "asks for sales",
                    "transferNumber": "+442079460000",
                    "transferOption": {"type": "cold_transfer"},
                },
                "mapped",
            )
        },
        [],
    ),
    (
        "transfer to dynamic number",
        cfg(
            {
                "prompt": {
                    "prompt": "x",
                    "built_in_tools": {
                        "transfer_to_number": system(
                            "transfer_to_number",
                            transfers=[
                                {
                                    "transfer_destination": {"type": "phone_dynamic_variable", "phone_number": "dest"},
                                    "condition": "c",
                                }
                            ],
                        )
                    },
                }
            }
        ),
        {},
        [(f"{BUILT_IN}.transfer_to_number.params.transfers[0]", "unmapped", "error")],
    ),
    (
        "transfer number not E.164",
        cfg(
            {
                "prompt": {
                    "prompt": "x",
                    "built_in_tools": {
                        "transfer_to_number": system(
                            "transfer_to_number",
                            transfers=[
                                {
                                    "transfer_destination": {"type": "phone", "phone_number": "555-0100"},
                                    "condition": "c",
                                }
                            ],
                        )
                    },
                }
            }
        ),
        {},
        [(f"{BUILT_IN}.transfer_to_number.params.transfers[0]", "unmapped", "error")],
    ),
    (
        "voicemail detection",
        cfg(
            {
                "prompt": {
                    "prompt": "x",
                    "built_in_tools": {
                        "voicemail_detection": system("voicemail_detection", voicemail_message="Call us back.")
                    },
                }
            }
        ),
        {
            "voiceMailDetectionConfig.enabled": (True, "mapped"),
            "voiceMailDetectionConfig.endText": ("Call us back.", "mapped"),
        },
        [],
    ),
    (
        "skip_turn reported",
        cfg({"prompt": {"prompt": "x", "built_in_tools": {"skip_turn": system("skip_turn")}}}),
        {},
        [(f"{BUILT_IN}.skip_turn", "unmapped", "warning")],
    ),
    (
        "unknown system tool reported",
        cfg({"prompt": {"prompt": "x", "built_in_tools": {"memory_search": system("memory_search")}}}),
        {},
        [(f"{BUILT_IN}.memory_search", "unmapped", "warning")],
    ),
    (
        "webhook tool inline -> api_call",
        cfg(
            {
                "prompt": {
                    "prompt": "x",
                    "tools": [
                        {
                            "type": "webhook",
                            "name": "w",
                            "description": "Look up",
                            "api_schema": {"url": "https://x.invalid/a"},
                        }
                    ],
                }
            }
        ),
        {
            "singlePromptConfig.tools[0]": (
                {
                    "type": "api_call",
                    "name": "w",
                    "description": "Look up",
                    "url": "https://x.invalid/a",
                    "method": "GET",
                    "timeout": 20000,
                },
                "mapped",
            )
        },
        [],
    ),
    (
        "client tool reported",
        cfg({"prompt": {"prompt": "x", "tools": [{"type": "client", "name": "show", "description": "d"}]}}),
        {},
        [(f"{P}.tools[0]", "unmapped", "error")],
    ),
    (
        "tool id not fetched",
        cfg({"prompt": {"prompt": "x", "tool_ids": ["tool_1"]}}),
        {},
        [(f"{P}.tool_ids[0]", "unmapped", "warning")],
    ),
    (
        "data collection",
        cfg(
            platform_settings={
                "data_collection": {
                    "Wants Callback": {"type": "boolean", "description": "Callback?"},
                    "topic": {"type": "string", "description": "Topic", "enum": ["a", "b"]},
                }
            }
        ),
        {
            "postCallAnalyticsConfig.dispositionMetrics[0]": (
                {
                    "identifier": "wants_callback",
                    "dispositionMetricPrompt": "Callback?",
                    "dispositionMetricType": "BOOLEAN",
                },
                "mapped",
            ),
            "postCallAnalyticsConfig.dispositionMetrics[1]": (
                {
                    "identifier": "topic",
                    "dispositionMetricPrompt": "Topic",
                    "dispositionMetricType": "ENUM",
                    "choices": ["a", "b"],
                },
                "mapped",
            ),
        },
        [],
    ),
    (
        "evaluation criteria",
        cfg(
            platform_settings={
                "evaluation": {
                    "criteria": [{"id": "c1", "name": "Solved", "conversation_goal_prompt": "Was it solved?"}]
                }
            }
        ),
        {
            "postCallAnalyticsConfig.dispositionMetrics[0]": (
                {
                    "identifier": "solved",
                    "dispositionMetricPrompt": "Was it solved?",
                    "dispositionMetricType": "ENUM",
                    "choices": ["success", "failure", "unknown"],
                },
                "mapped",
            )
        },
        [],
    ),
    (
        "redaction on",
        cfg(platform_settings={"privacy": {"conversation_history_redaction": {"enabled": True}}}),
        {"redactionConfig.isEnabled": (True, "mapped")},
        [],
    ),
    ("redaction absent -> explicitly off", cfg(), {"redactionConfig.isEnabled": (False, "defaulted")}, []),
    (
        "trivial workflow",
        cfg(workflow={"nodes": {"s": {"type": "start"}}, "edges": {}}),
        {"workflowType": ("single_prompt", "mapped")},
        [("workflow", "ignored", "info")],
    ),
    (
        "multi-node workflow",
        cfg(workflow={"nodes": {"s": {"type": "start"}, "a": {"type": "override_agent"}}, "edges": {"e": {}}}),
        {},
        [("workflow", "unmapped", "error")],
    ),
    (
        "known field with default value is quiet",
        cfg({"prompt": {"prompt": "x", "max_tokens": -1}}),
        {},
        [(f"{P}.max_tokens", "ignored", "info")],
    ),
    (
        "known field with a real value is reported",
        cfg({"prompt": {"prompt": "x", "max_tokens": 200}}),
        {},
        [(f"{P}.max_tokens", "unmapped", "warning")],
    ),
    (
        "widget ignored with a reason",
        cfg(platform_settings={"widget": {"variant": "full"}}),
        {},
        [("platform_settings.widget", "ignored", "info")],
    ),
    (
        "unknown key reported once at its top",
        cfg(conversation_config={"stt": {"model": "x", "lang": "en"}}),
        {},
        [("conversation_config.stt", "unmapped", "warning")],
    ),
    (
        "env placeholder reported",
        cfg(name="${AGENT_NAME}"),
        {"name": ("${AGENT_NAME}", "mapped")},
        [("name", "lossy", "warning")],
    ),
]


@pytest.mark.parametrize("config, expected, findings", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_mapping_rule(tables, config, expected, findings) -> None:
    source = make_source(config)
    result = map_agent(source, tables)
    got = {a.path: (a.value, a.status) for a in result.assignments}
    for path, value_status in expected.items():  # None: the field is not planned at all
        assert got.get(path) == value_status, f"{path}: {got.get(path)!r}"
    got_findings = {(f.source_path, f.status, f.severity) for f in result.findings}
    for finding in findings:
        assert finding in got_findings, f"missing {finding}; have {sorted(got_findings)}"
    # Exactly the row's warnings and errors: an extra one is a regression too (info findings may be left out).
    extra = {f for f in got_findings if f[2] != "info"} - set(findings)
    assert not extra, f"unexpected {sorted(extra)}"
    assert uncovered_leaves(source, result) == []


def test_first_message_cut_at_a_word_boundary_within_limit(tables) -> None:
    result = map_agent(make_source(cfg({"first_message": "word " * 120})), tables)
    message = next(a for a in result.assignments if a.path == "firstMessage")
    assert message.status == "lossy"
    assert len(message.value) <= 500 and message.value.endswith("word")


def test_tool_names_are_unique_and_end_call_is_not_duplicated(tables) -> None:
    config = cfg(
        {
            "prompt": {
                "prompt": "x",
                "built_in_tools": {
                    "end_call": system("end_call"),
                    "transfer_to_number": system(
                        "transfer_to_number",
                        transfers=[
                            {
                                "transfer_destination": {"type": "phone", "phone_number": "+14155550100"},
                                "condition": "a",
                            },
                            {
                                "transfer_destination": {"type": "phone", "phone_number": "+14155550101"},
                                "condition": "b",
                            },
                        ],
                    ),
                },
                "tools": [system("end_call")],
            }
        }
    )
    result = map_agent(make_source(config), tables)
    names = [a.value["name"] for a in result.assignments if a.path.startswith("singlePromptConfig.tools")]
    assert names == ["end_call", "transfer_call", "transfer_call_2"]
    assert any(f.source_path == f"{P}.tools[0]" and f.status == "ignored" for f in result.findings)


def test_system_tool_reached_through_tool_ids_is_mapped(tables) -> None:
    config = cfg({"prompt": {"prompt": "x", "tool_ids": ["tool_sys"]}})
    record = {"id": "tool_sys", "tool_config": system("end_call")}
    result = map_agent(make_source(config, tools={"tool_sys": record}), tables)
    tool = next(a for a in result.assignments if a.path == "singlePromptConfig.tools[0]")
    assert tool.value["type"] == "end_call" and tool.source_path == f"{P}.tool_ids[0]"


def test_every_lossy_change_says_why(tables) -> None:
    from conftest import EXAMPLE

    from atoms_migrate.source.shapes import normalise, read_config_file

    result = map_agent(normalise(read_config_file(EXAMPLE), "example"), tables)
    assert all(a.note for a in result.assignments if a.status == "lossy")


def test_variable_with_a_dotted_name_counts_as_having_a_default(tables) -> None:
    config = cfg(
        {
            "prompt": {"prompt": "Hi {{user.name}}"},
            "dynamic_variables": {"dynamic_variable_placeholders": {"user.name": "Ana"}},
        }
    )
    result = map_agent(make_source(config), tables)
    assert {a.path: a.value for a in result.assignments}.get('defaultVariables["user.name"]') == "Ana"
    assert not any("without a default" in f.message for f in result.findings)
