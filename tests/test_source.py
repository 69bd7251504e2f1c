"""Shape recognition: every ElevenLabs shape reads; anything else fails with one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import EXAMPLE, FIXTURES

from atoms_migrate.errors import NotAnAgentConfig, SourceFileError
from atoms_migrate.source.shapes import load_tools_dir, normalise, read_config_file

SHAPES = FIXTURES / "shapes"


@pytest.mark.parametrize(
    "file, shape, checks",
    [
        (
            EXAMPLE,
            "api-response",
            {
                "agent_id": "agent_0000example0support0000000",
                "first_message": "Hi {{customer_name}}! I'm the Acme support assistant. How can I help today?",
            },
        ),
        (SHAPES / "camel-case.json", "cli-config", {"first_message": "Hello from the JS SDK."}),
        (SHAPES / "flattened.yaml", "flattened-legacy", {"first_message": ""}),
        (SHAPES / "inline-tools.json", "create-body", {"first_message": "Hi."}),
    ],
)
def test_known_shapes_are_normalised(file: Path, shape: str, checks: dict) -> None:
    agent = normalise(read_config_file(file), str(file), path=str(file))
    assert agent.shape == shape
    if "agent_id" in checks:
        assert agent.agent_id == checks["agent_id"]
    assert agent.config["conversation_config"]["agent"]["first_message"] == checks["first_message"]


# (normalised path, value read from tests/fixtures/shapes/flattened-complete.yaml)
FLATTENED_ROWS = [
    ("conversation_config.agent.prompt.llm", "gpt-4o"),  # prompt key beside the prompt
    ("conversation_config.agent.dynamic_variables.dynamic_variable_placeholders.nombre", "Cliente"),  # prompt-level
    ("conversation_config.agent.language", "es"),  # first of the top-level languages list
    ("conversation_config.language_presets.en.overrides.tts.voice_id", "21m00Tcm4TlvDq8ikWAM"),  # per-voice language
    ("conversation_config.tts.voice_id", "customSpanishVoice01"),  # the primary language's voice
    ("conversation_config.tts.stability", 0.4),
    ('platform_settings.data_collection["fecha"].type', "string"),  # list-form data_collection
    ("platform_settings.evaluation.criteria[0].id", "reserva"),
]


@pytest.mark.parametrize("path, value", FLATTENED_ROWS, ids=[r[0] for r in FLATTENED_ROWS])
def test_flattened_shape_is_normalised_completely(path: str, value) -> None:
    from atoms_migrate import paths

    agent = normalise(read_config_file(SHAPES / "flattened-complete.yaml"), "f.yaml")
    assert agent.shape == "flattened-legacy"
    assert paths.get(agent.config, path) == value


def test_flattened_values_are_used_not_reported_unknown(tables) -> None:
    from atoms_migrate.plan.planner import plan_agent

    plan = plan_agent(normalise(read_config_file(SHAPES / "flattened-complete.yaml"), "f.yaml", path="f.yaml"), tables)
    config = plan.target_config
    assert config["defaultVariables"] == {"nombre": "Cliente", "negocio": "La Casa"}
    assert config["language"]["supported"] == ["es", "en"] and config["slmModel"] == "gpt-4o"
    assert [m["identifier"] for m in config["postCallAnalyticsConfig"]["dispositionMetrics"]] == [
        "fecha",
        "personas",
        "reserva",
    ]
    assert not [f for f in plan.findings if "Unknown field" in f.message or "without a default" in f.message]


def test_camel_case_keeps_user_chosen_names() -> None:
    agent = normalise(read_config_file(SHAPES / "camel-case.json"), "x")
    placeholders = agent.config["conversation_config"]["agent"]["dynamic_variables"]["dynamic_variable_placeholders"]
    assert placeholders == {"orderId": "A-1"}  # a variable name is data, not a key to convert
    assert any("camelCase" in n for n in agent.notes)


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ({"_note": "x", "agent": {"llm": "gpt-4o"}, "tts": {"voice_id": "v"}}, "has no prompt or first message"),
        (
            {"agent": {"system_prompt": "You are Ana.", "first_message": "Hola"}, "tts": {"voice": "x"}},
            "keys ElevenLabs does not use (system_prompt)",
        ),
        (
            {"agent": {"instructions": "Be kind.", "greeting": "Hi"}},
            "keys ElevenLabs does not use (instructions, greeting)",
        ),
        ({"nodes": {}, "edges": {}, "prevent_subagent_loops": False}, "workflow graph"),
        ([{"name": "a"}], "list of 1 items"),
        ({"agents": [{"config": "agent_configs/a.json"}]}, "registry (agents.json)"),
        ({"bot": "hello"}, "top-level keys: bot"),
        ("just text", "holds a str"),
    ],
)
def test_foreign_files_are_refused_with_one_line(raw, fragment: str) -> None:
    with pytest.raises(NotAnAgentConfig) as exc:
        normalise(raw, "f.json")
    assert fragment in exc.value.message
    assert "\n" not in exc.value.message


@pytest.mark.parametrize(
    "name, content, fragment",
    [
        ("bad.json", b'{"name": "x",', "malformed JSON at line 1"),
        ("bad.yaml", b"name: [unclosed", "malformed YAML"),
        ("empty.json", b"  \n", "is empty"),
        ("latin1.json", '{"name": "caf\xe9"}'.encode("latin-1"), "not UTF-8"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes, fragment: str) -> None:
    file = tmp_path / name
    file.write_bytes(content)
    with pytest.raises(SourceFileError) as exc:
        read_config_file(file)
    assert fragment in exc.value.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceFileError, match="no such file"):
        read_config_file(tmp_path / "nope.json")


def test_tools_dir_reads_registry_records_and_id_named_files(tmp_path: Path) -> None:
    (tmp_path / "tool_configs").mkdir()
    (tmp_path / "tool_configs" / "hook.json").write_text('{"type": "webhook", "name": "hook"}')
    (tmp_path / "tools.json").write_text(
        '{"tools": [{"type": "webhook", "config": "tool_configs/hook.json", "id": "tool_reg"}]}'
    )
    tools = load_tools_dir(FIXTURES / "tools") | load_tools_dir(tmp_path)
    assert set(tools) == {"tool_examplesys01", "tool_examplehook1", "tool_reg"}
    assert tools["tool_reg"]["name"] == "hook"


SHAPE_FILES = sorted(p for p in SHAPES.iterdir() if p.name != "hand-written.json")


@pytest.mark.parametrize("file", SHAPE_FILES, ids=[f.name for f in SHAPE_FILES])
def test_every_leaf_of_every_fixture_shape_is_accounted_for_in_its_own_paths(tables, file: Path) -> None:
    from atoms_migrate.mapping.engine import map_agent, uncovered_file_leaves, uncovered_leaves

    source = normalise(read_config_file(file), str(file), path=str(file))
    result = map_agent(source, tables)
    assert uncovered_leaves(source, result) == [] and uncovered_file_leaves(source, result) == []


# (fixture, normalised path, the path as it reads in the user's file)
USER_PATH_ROWS = [
    ("camel-case.json", "conversation_config.agent.first_message", "conversationConfig.agent.firstMessage"),
    (
        "camel-case.json",
        "conversation_config.agent.dynamic_variables.dynamic_variable_placeholders.orderId",
        "conversationConfig.agent.dynamicVariables.dynamicVariablePlaceholders.orderId",
    ),
    (
        "camel-case.json",
        "conversation_config.asr.quality",
        "conversationConfig.asr.quality",
    ),  # absent: the file's convention
    ("flattened.yaml", "conversation_config.tts.voice_id", "tts.voice_id"),
    ("flattened.yaml", "conversation_config.asr.quality", "asr.quality"),
    (
        "flattened.yaml",
        "platform_settings.privacy.conversation_history_redaction",
        "privacy.conversation_history_redaction",
    ),
    ("flattened-complete.yaml", "conversation_config.agent.prompt.llm", "agent.llm"),
    (
        "flattened-complete.yaml",
        "conversation_config.agent.dynamic_variables.dynamic_variable_placeholders.nombre",
        "agent.prompt.dynamic_variables.dynamic_variable_placeholders.nombre",
    ),
    ("flattened-complete.yaml", "conversation_config.language_presets.en.overrides", "languages[1]"),
    ("flattened-complete.yaml", "platform_settings.data_collection.personas.type", "data_collection[1].type"),
    ("inline-tools.json", "conversation_config.agent.prompt.tools[0]", "conversation_config.agent.prompt.tools[0]"),
]


@pytest.mark.parametrize("file, normalised, user", USER_PATH_ROWS, ids=[f"{r[0]}:{r[1]}" for r in USER_PATH_ROWS])
def test_paths_are_reported_in_the_users_own_shape(file: str, normalised: str, user: str) -> None:
    source = normalise(read_config_file(SHAPES / file), file, path=file)
    assert source.user_path(normalised) == user


def test_json_plan_keeps_shape_and_adds_normalised_path_where_it_differs(tables) -> None:
    from atoms_migrate.plan.planner import plan_agent

    doc = plan_agent(normalise(read_config_file(SHAPES / "camel-case.json"), "c.json", path="c.json"), tables).to_dict()
    assert doc["source"]["shape"] == "cli-config"
    first = next(c for c in doc["changes"] if c["path"] == "firstMessage")
    assert first["source_path"] == "conversationConfig.agent.firstMessage"
    assert first["normalised_path"] == "conversation_config.agent.first_message"
    name = next(c for c in doc["changes"] if c["path"] == "name")
    assert "normalised_path" not in name  # the same in both layouts: not repeated
