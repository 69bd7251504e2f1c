"""Mapping data kept in concepts.yaml (not in Python): each section is validated by `mappings check`, and the
mapping follows what the table says, so an overlay (--mappings) changes the plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import agent_config, make_source

from atoms_migrate.mapping.engine import map_agent
from atoms_migrate.mapping.tables import TABLE_FILES, MappingTables, builtin_dir, check_tables, load_tables

BUILT_IN = "conversation_config.agent.prompt.built_in_tools"


def _overlay(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the shipped concepts.yaml with one exact edit (the edit must apply once)."""
    tmp_path.mkdir(exist_ok=True)
    current = tmp_path / "concepts.yaml"
    text = (current if current.exists() else builtin_dir() / "concepts.yaml").read_text()
    assert text.count(old) == 1, old
    (tmp_path / "concepts.yaml").write_text(text.replace(old, new))
    return tmp_path


def _line(path: Path, needle: str) -> int:
    return next(i for i, row in enumerate(path.read_text().splitlines(), 1) if needle in row)


@pytest.mark.parametrize(
    "old, new, line_of, expected",
    [
        (
            "types: {boolean: BOOLEAN,",
            "types: {boolean: DECIMAL,",
            "types: {boolean: DECIMAL",
            "metrics.types.boolean: Input should be 'BOOLEAN', 'STRING', 'INTEGER' or 'ENUM'",
        ),
        (
            "      blind: {option: cold_transfer}",
            "      blind: {option: cold_transfer, colour: blue}",
            "colour: blue",
            "tools.transfers.types.blind.colour: Extra inputs are not permitted",
        ),
        (
            "    conversation_config.tts.voice_id: cjVigY5qzO86Huf0OWal",
            "    conversation_config.tts.voice_idx: cjVigY5qzO86Huf0OWal",
            "conversation_config.agent.language: en",  # the line the mapping starts on
            "defaults.elevenlabs_defaults: Value error, conversation_config.tts.voice_id must be set",
        ),
        (
            'message: "MCP tool {name!r} has no',
            'message: "MCP tool {tool} has no',
            "MCP tool {tool}",
            "tools.unsupported_types.mcp.message: Value error, not a template of {name} and {kind}",
        ),
        (
            "  knowledge_base_name_max: 40",
            "  knowledge_base_name_max: 0",
            "knowledge_base_name_max: 0",
            "defaults.knowledge_base_name_max: Input should be greater than or equal to 1",
        ),
    ],
)
def test_a_broken_data_section_is_named_with_file_and_line(
    tmp_path: Path, old: str, new: str, line_of: str, expected: str
) -> None:
    d = _overlay(tmp_path, old, new)
    tables, problems = check_tables(d)
    where = f"{d / 'concepts.yaml'}:{_line(d / 'concepts.yaml', line_of)}: "
    assert tables is None
    assert any(p.startswith(where + expected) for p in problems), problems


def test_a_required_data_section_cannot_be_left_out(tmp_path: Path) -> None:
    text = (builtin_dir() / "concepts.yaml").read_text()
    start = text.index("\nmetrics:\n")
    end = text.index("\n\n", start + 1)
    (tmp_path / "concepts.yaml").write_text(text[:start] + text[end:])
    _, problems = check_tables(tmp_path)
    assert any(p.endswith("metrics: Field required") for p in problems), problems


def _map(tables: MappingTables, agent: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    config = agent_config(**(agent or {}))
    config.update(top)
    result = map_agent(make_source(config), tables)
    return {"assignments": {a.path: a for a in result.assignments}, "findings": result.findings}


def _transfer(kind: str) -> dict[str, Any]:
    transfer = {"transfer_destination": {"type": "phone", "phone_number": "+14155550100"}, "transfer_type": kind}
    tool = {"type": "system", "name": "transfer_to_number", "params": {"transfers": [transfer]}}
    return {"prompt": {"prompt": "Be helpful.", "built_in_tools": {"transfer_to_number": tool}}}


def test_transfer_types_come_from_the_table(tables: MappingTables, tmp_path: Path) -> None:
    shipped = _map(tables, _transfer("blind"))["assignments"]["singlePromptConfig.tools[0]"]
    assert (shipped.value["transferOption"], shipped.status) == ({"type": "cold_transfer"}, "mapped")
    sip = _map(tables, _transfer("sip_refer"))["assignments"]["singlePromptConfig.tools[0]"]
    assert (sip.status, sip.note) == ("lossy", "SIP REFER transfer becomes a cold transfer.")

    d = _overlay(tmp_path, "      blind: {option: cold_transfer}", "      blind: {option: warm_transfer, lossy: why}")
    changed = _map(load_tables(d), _transfer("blind"))["assignments"]["singlePromptConfig.tools[0]"]
    assert (changed.value["transferOption"], changed.status, changed.note) == (
        {"type": "warm_transfer"},
        "lossy",
        "why",
    )


def test_an_unknown_transfer_type_lists_the_table_s_types(tables: MappingTables) -> None:
    findings = _map(tables, _transfer("teleport"))["findings"]
    messages = [f.message for f in findings if f.source_path.endswith("transfer_type")]
    assert messages == [
        "Unknown transfer_type 'teleport' (expected blind, conference or sip_refer); a cold transfer is planned."
    ]


def test_metric_types_and_evaluation_choices_come_from_the_table(tables: MappingTables, tmp_path: Path) -> None:
    platform = {
        "data_collection": {"score": {"type": "number", "description": "The score."}},
        "evaluation": {"criteria": [{"id": "c1", "name": "Booked", "conversation_goal_prompt": "Was it booked?"}]},
    }
    shipped = _map(tables, platform_settings=platform)["assignments"]
    metric, criterion = (
        shipped["postCallAnalyticsConfig.dispositionMetrics[0]"],
        shipped["postCallAnalyticsConfig.dispositionMetrics[1]"],
    )
    assert (metric.value["dispositionMetricType"], metric.status) == ("STRING", "lossy")
    assert criterion.value["choices"] == ["success", "failure", "unknown"]

    d = _overlay(tmp_path, "  evaluation_choices: [success, failure, unknown]", "  evaluation_choices: [met, missed]")
    d = _overlay(
        d,
        "  types: {boolean: BOOLEAN, string: STRING, integer: INTEGER, number: STRING}\n"
        "  lossy_types:\n"
        '    number: "Atoms has no decimal metric type; extracted as text."\n',
        "  types: {boolean: BOOLEAN, string: STRING, integer: INTEGER, number: INTEGER}\n  lossy_types: {}\n",
    )
    changed = _map(load_tables(d), platform_settings=platform)["assignments"]
    assert (
        changed["postCallAnalyticsConfig.dispositionMetrics[0]"].value["dispositionMetricType"],
        changed["postCallAnalyticsConfig.dispositionMetrics[0]"].status,
    ) == (
        "INTEGER",
        "mapped",
    )
    assert changed["postCallAnalyticsConfig.dispositionMetrics[1]"].value["choices"] == ["met", "missed"]
    assert (
        changed["postCallAnalyticsConfig.dispositionMetrics[1]"].note
        == "Success criterion -> ENUM met / missed, like ElevenLabs' result."
    )


def test_atoms_system_variables_come_from_the_table(tables: MappingTables, tmp_path: Path) -> None:
    agent = {"prompt": {"prompt": "Today is {{current_date}}."}}
    unset = [f for f in _map(tables, agent)["findings"] if f.message.startswith("Variables without a default")]
    assert unset == []
    d = _overlay(tmp_path, "  - current_date\n", "")
    unset = [f for f in _map(load_tables(d), agent)["findings"] if f.message.startswith("Variables without a default")]
    assert [f.message.split(";")[0] for f in unset] == ["Variables without a default value: current_date"]


def test_elevenlabs_defaults_fill_what_the_source_leaves_out(tables: MappingTables, tmp_path: Path) -> None:
    shipped = _map(tables)["assignments"]
    assert (shipped["language.default"].value, shipped["language.default"].status) == ("en", "defaulted")
    voice = shipped["synthesizer.voiceConfig.voiceId"]
    assert (voice.value, voice.status, voice.source_path) == ("jordan", "defaulted", "conversation_config.tts.voice_id")

    spanish = _overlay(
        tmp_path / "es", "conversation_config.agent.language: en\n", "conversation_config.agent.language: es\n"
    )
    assert _map(load_tables(spanish))["assignments"]["language.default"].value == "es"
    rachel = _overlay(tmp_path / "rachel", "voice_id: cjVigY5qzO86Huf0OWal", "voice_id: 21m00Tcm4TlvDq8ikWAM")
    assert _map(load_tables(rachel))["assignments"]["synthesizer.voiceConfig.voiceId"].value == "rachel"


def test_end_session_names_come_from_the_table(tables: MappingTables, tmp_path: Path) -> None:
    agent = {"prompt": {"prompt": "Be helpful.", "tools": [{"type": "client", "name": "wrapUp"}]}}
    hint = next(f.hint for f in _map(tables, agent)["findings"] if "Client tool" in f.message)
    assert not hint.startswith("Its job is to end the session")
    d = _overlay(tmp_path, "    - close_session\n", "    - close_session\n    - wrap_up\n")
    hint = next(f.hint for f in _map(load_tables(d), agent)["findings"] if "Client tool" in f.message)
    assert hint.startswith("Its job is to end the session")


def test_the_shipped_tables_hold_every_section(tables: MappingTables) -> None:
    for name in TABLE_FILES:
        assert (builtin_dir() / name).is_file()
    concepts = tables.concepts
    assert concepts.tools.transfers.default in concepts.tools.transfers.types
    assert set(concepts.metrics.types.values()) <= {"BOOLEAN", "STRING", "INTEGER", "ENUM"}
