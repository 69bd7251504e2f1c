"""Edge cases from schema fuzzing and a hostile campaign (issue 20): numbers, enums, types, tables."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from conftest import EXAMPLE, agent_config, make_source

from atoms_migrate import paths
from atoms_migrate.errors import SourceFileError
from atoms_migrate.mapping.engine import MapContext, clamp_numbers, map_agent, uncovered_leaves
from atoms_migrate.model import Assignment
from atoms_migrate.source.shapes import parse_config_text, reject_bad_numbers

P = "conversation_config.agent.prompt"


def cfg(agent: dict[str, Any] | None = None, **sections: Any) -> dict[str, Any]:
    base = agent_config(**(agent or {}))
    base["conversation_config"].update(sections)
    return base


def system(kind: str, **params: Any) -> dict[str, Any]:
    return {"type": "system", "name": kind, "description": "", "params": {"system_tool_type": kind, **params}}


def transfer(**fields: Any) -> dict[str, Any]:
    base = {"transfer_destination": {"type": "phone", "phone_number": "+14155550100"}, "condition": "Wants a human."}
    return base | fields


def mapped(config: dict[str, Any], tables, tools: dict[str, Any] | None = None):
    source = make_source(config, tools)
    result = map_agent(source, tables)
    assert uncovered_leaves(source, result) == []
    return result


def values(result) -> dict[str, Any]:
    return {a.path: a.value for a in result.assignments}


def findings_at(result, path: str) -> list[Any]:
    return [f for f in result.findings if f.source_path == path]


def warnings_and_errors(result) -> set[tuple[str, str, str]]:
    """Every non-info finding as (source path, status, severity): a table row must cause exactly its own."""
    return {(f.source_path, f.status, f.severity) for f in result.findings if f.severity != "info"}


def only(finding) -> set[tuple[str, str, str]]:
    """The exact set ``warnings_and_errors`` must equal when ``finding`` is a row's one finding."""
    return set() if finding.severity == "info" else {(finding.source_path, finding.status, finding.severity)}


def _all_numbers(value: Any) -> list[Any]:
    return [v for _, v in paths.iter_leaves({"v": value}) if isinstance(v, (int, float)) and not isinstance(v, bool)]


# --- numbers: every number the plan writes is clamped to its Atoms field's range -------------


@pytest.mark.parametrize("silence, turn", [(1e308, 1e-9), (10**400, 7), (1e308, 1e308), (5e300, 1)])
def test_extreme_silence_and_turn_timeouts_are_clamped_and_reported(tables, silence, turn) -> None:
    result = mapped(cfg(turn={"silence_end_call_timeout": silence, "turn_timeout": turn}), tables)
    got = values(result)
    limits = tables.concepts.ranges["llmIdleTimeoutConfig.maxRetries"]
    assert got["llmIdleTimeoutConfig.maxRetries"] == limits.max
    assert 1 <= got["llmIdleTimeoutConfig.telephonyTimeoutTimeInSecs"] <= 300
    silence_findings = findings_at(result, "conversation_config.turn.silence_end_call_timeout")
    assert any(f.status == "lossy" and f.severity == "warning" and "clamped" in f.message for f in silence_findings)
    for a in result.assignments:  # no number with hundreds of digits anywhere, in values or messages
        assert all(len(repr(n)) < 25 for n in _all_numbers(a.value)), a
        assert len(a.note) < 400, a.note
    assert all(len(f.message) < 400 for f in result.findings)


def test_a_tiny_turn_timeout_is_raised_to_the_atoms_minimum(tables) -> None:
    result = mapped(cfg(turn={"turn_timeout": 1e-9, "silence_end_call_timeout": 30}), tables)
    got = values(result)
    assert got["llmIdleTimeoutConfig.chatTimeoutTimeInSecs"] == 1
    assert got["llmIdleTimeoutConfig.maxRetries"] == 10  # ceil(30 / 1) - 1 = 29, clamped to the range


def test_webhook_timeout_of_1e308_seconds_is_clamped_not_overflowed(tables) -> None:
    hook = {
        "type": "webhook",
        "name": "lookup",
        "description": "Look up.",
        "response_timeout_secs": 1e308,
        "api_schema": {"url": "https://api.example.com/x", "method": "GET"},
    }
    result = mapped(cfg({"prompt": {"prompt": "x", "tools": [hook]}}), tables)
    (tool,) = [a.value for a in result.assignments if a.path.startswith("singlePromptConfig.tools")]
    assert tool["timeout"] == 30000


def _context(tables) -> MapContext:
    return MapContext(make_source(agent_config()), tables)


RANGE_CASES = [
    (pattern, extreme)
    for pattern in (
        "synthesizer.speed",
        "llmIdleTimeoutConfig.maxRetries",
        "sessionTimeoutConfig.timeoutTimeInSecs",
        "interruptionBackoffTimer",
        "singlePromptConfig.tools.*.timeout",
        "preCallAPI.timeout",
    )
    for extreme in (1e308, -1e308, 10**400, float("nan"))
]


@pytest.mark.parametrize("pattern, extreme", RANGE_CASES, ids=[f"{p}={e!r:.8}" for p, e in RANGE_CASES])
def test_the_final_pass_clamps_any_assignment_to_its_range(tables, pattern, extreme) -> None:
    """Whatever a transform (or a --mappings overlay) writes, a number outside its range never reaches the plan."""
    ctx = _context(tables)
    target = pattern.replace("*", "0")
    head, _, leaf = target.rpartition(".")
    if pattern.startswith("singlePromptConfig.tools"):
        ctx.assignments.append(Assignment(head, {"type": "api_call", leaf: extreme}, "src.path", "r", "mapped"))
    else:
        ctx.assignments.append(Assignment(target, extreme, "src.path", "r", "mapped"))
    clamp_numbers(ctx)
    limits = tables.concepts.ranges[pattern]
    (a,) = ctx.assignments
    value = a.value[leaf] if isinstance(a.value, dict) else a.value
    assert limits.min <= value <= limits.max and a.status == "lossy"
    (finding,) = ctx.findings
    assert finding.source_path == "src.path" and finding.status == "lossy" and finding.severity == "warning"
    assert "clamped" in finding.message and len(finding.message) < 300
    assert not limits.integer or isinstance(value, int)


def test_numbers_inside_their_range_are_left_alone(tables) -> None:
    ctx = _context(tables)
    ctx.assignments.append(Assignment("synthesizer.speed", 1.1, "s", "r", "mapped"))
    ctx.assignments.append(Assignment("sessionTimeoutConfig.timeoutTimeInSecs", 600.0, "s", "r", "mapped"))
    clamp_numbers(ctx)
    assert [(a.value, a.status) for a in ctx.assignments] == [(1.1, "mapped"), (600, "mapped")]
    assert isinstance(ctx.assignments[1].value, int) and ctx.findings == []


def test_every_range_names_its_reference(tables) -> None:
    assert tables.concepts.ranges, "concepts.yaml has no ranges"
    for pattern, limits in tables.concepts.ranges.items():
        assert limits.min <= limits.max and limits.reference.strip(), pattern


def test_mappings_check_reports_a_bad_range(tmp_path) -> None:
    import shutil

    from atoms_migrate.mapping.tables import TABLE_FILES, builtin_dir, check_tables

    for name in TABLE_FILES:
        shutil.copy(builtin_dir() / name, tmp_path / name)
    text = (tmp_path / "concepts.yaml").read_text()
    text = text.replace("synthesizer.speed: {min: 0.5, max: 2.0,", "synthesizer.speed: {min: 3, max: 2.0,")
    text = text.replace("preCallAPI.timeout: {min: 1, max: 30,", "preCallAPI.timeout: {min: 1, max: 30, step: 1,")
    (tmp_path / "concepts.yaml").write_text(text)
    _, problems = check_tables(tmp_path)
    assert any("ranges.preCallAPI.timeout.step: Extra inputs are not permitted" in p for p in problems), problems
    (tmp_path / "concepts.yaml").write_text(text.replace(" step: 1,", ""))
    _, problems = check_tables(tmp_path)
    assert problems == [f"{tmp_path / 'concepts.yaml'}: ranges.synthesizer.speed: min 3.0 is above max 2.0"]


# --- enums and wrong types --------------------------------------------------------------------


@pytest.mark.parametrize("bad", [["blind"], {"type": "blind"}, 3, True])
def test_a_non_string_transfer_type_is_an_unknown_value(tables, bad) -> None:
    tool = system("transfer_to_number", transfers=[transfer(transfer_type=bad)])
    result = mapped(cfg({"prompt": {"prompt": "x", "built_in_tools": {"transfer_to_number": tool}}}), tables)
    (planned,) = [a for a in result.assignments if a.path.startswith("singlePromptConfig.tools")]
    assert planned.value["transferOption"] == {"type": "cold_transfer"} and planned.status == "lossy"
    where = f"{P}.built_in_tools.transfer_to_number.params.transfers[0].transfer_type"
    assert [(f.status, f.severity) for f in findings_at(result, where)] == [("lossy", "warning")]


@pytest.mark.parametrize("bad", [["phone"], {"a": 1}, 7])
def test_a_non_string_destination_type_is_reported_never_fatal(tables, bad) -> None:
    tool = system(
        "transfer_to_number", transfers=[transfer(transfer_destination={"type": bad, "phone_number": "+14155550100"})]
    )
    result = mapped(cfg({"prompt": {"prompt": "x", "built_in_tools": {"transfer_to_number": tool}}}), tables)
    (finding,) = findings_at(result, f"{P}.built_in_tools.transfer_to_number.params.transfers[0]")
    assert finding.severity == "error" and "Unknown transfer destination type" in finding.message


@pytest.mark.parametrize("bad", [{"a": 1}, ["webhook"], 5, "{name}"])
def test_a_tool_type_that_is_not_a_known_string_is_reported(tables, bad) -> None:
    result = mapped(cfg({"prompt": {"prompt": "x", "tools": [{"type": bad, "name": "t", "description": "d"}]}}), tables)
    (finding,) = findings_at(result, f"{P}.tools[0]")
    assert finding.severity == "error" and "is not migrated" in finding.message


@pytest.mark.parametrize("bad", [["office1"], {"id": "office1"}, 1])
def test_a_non_string_background_sound_is_reported(tables, bad) -> None:
    result = mapped(cfg(conversation={"background_sound": {"source_type": "preset", "source_id": bad}}), tables)
    (finding,) = findings_at(result, "conversation_config.conversation.background_sound")
    assert finding.status == "unmapped" and "backgroundSound" not in values(result)


@pytest.mark.parametrize("where, bad", [("description", 3.5), ("description", ["x"]), ("condition", {"a": 1})])
def test_wrong_typed_texts_in_system_tools_are_findings(tables, where, bad) -> None:
    end_call = system("end_call") | ({"description": bad} if where == "description" else {})
    move = system("transfer_to_number", transfers=[transfer(**({"condition": bad} if where == "condition" else {}))])
    result = mapped(
        cfg({"prompt": {"prompt": "x", "built_in_tools": {"end_call": end_call, "transfer_to_number": move}}}), tables
    )
    tools = [a.value for a in result.assignments if a.path.startswith("singlePromptConfig.tools")]
    assert {t["type"] for t in tools} == {"end_call", "transfer_call"}
    assert any("Expected text" in f.message for f in result.findings)


@pytest.mark.parametrize("bad", [["x"], {"a": 1}, 3])
def test_a_webhook_description_of_the_wrong_type_is_a_finding(tables, bad) -> None:
    hook = {
        "type": "webhook",
        "name": "lookup",
        "description": bad,
        "api_schema": {"url": "https://api.example.com/x", "method": "GET"},
    }
    result = mapped(cfg({"prompt": {"prompt": "x", "tools": [hook]}}), tables)
    (finding,) = findings_at(result, f"{P}.tools[0].description")
    assert f"found {type(bad).__name__}, not text" in finding.message
    (tool,) = [a.value for a in result.assignments if a.path.startswith("singlePromptConfig.tools")]
    assert tool["description"] == "Call lookup."


@pytest.mark.parametrize("part, bad", [("required", True), ("required", "q"), ("properties", 7), ("properties", "q")])
@pytest.mark.parametrize("schema", ["query_params_schema", "request_body_schema"])
def test_a_webhook_schema_of_the_wrong_shape_never_raises(tables, schema, part, bad) -> None:
    body = {"type": "object", "properties": {"q": {"type": "string", "description": "Query"}}, "required": ["q"]}
    hook = {
        "type": "webhook",
        "name": "lookup",
        "description": "Look up.",
        "api_schema": {"url": "https://api.example.com/x", "method": "POST", schema: body | {part: bad}},
    }
    result = mapped(cfg({"prompt": {"prompt": "x", "tools": [hook]}}), tables)
    assert findings_at(result, f"{P}.tools[0]") or [a for a in result.assignments if a.source_path == f"{P}.tools[0]"]


@pytest.mark.parametrize("bad", [["t1"], {"id": "t1"}, 5])
def test_a_tool_id_that_is_not_a_string_is_a_finding(tables, bad) -> None:
    result = mapped(cfg({"prompt": {"prompt": "x", "tool_ids": [bad]}}), tables)
    (finding,) = findings_at(result, f"{P}.tool_ids[0]")
    assert "Expected a tool id" in finding.message


@pytest.mark.parametrize("bad", [True, 1, ["en"], {"code": "en"}])
def test_a_language_of_the_wrong_type_is_an_error_not_a_guess(tables, bad) -> None:
    result = mapped(cfg({"language": bad}), tables)
    (finding,) = findings_at(result, "conversation_config.agent.language")
    assert finding.severity == "error" and "Expected a language code" in finding.message
    (default,) = [a for a in result.assignments if a.path == "language.default"]
    assert default.status == "defaulted"


def test_a_data_collection_description_of_the_wrong_type_is_a_finding(tables) -> None:
    config = cfg()
    config["platform_settings"] = {"data_collection": {"vip": {"type": "boolean", "description": 12}}}
    result = mapped(config, tables)
    assert findings_at(result, "platform_settings.data_collection.vip.description")
    assert any(a.path.startswith("postCallAnalyticsConfig") for a in result.assignments)


# --- NaN and Infinity are refused when read -------------------------------------------------------


@pytest.mark.parametrize(
    "text, suffix, where, what",
    [
        ('{"conversation_config": {"tts": {"speed": NaN}}}', ".json", "conversation_config.tts.speed", "NaN"),
        ('{"a": [1, Infinity]}', ".json", "a[1]", "Infinity"),
        ('{"a": {"b": -Infinity}}', ".json", "a.b", "-Infinity"),
        ('{"a": 1e999}', ".json", "a", "Infinity"),
        ('{"a": ' + "9" * 5000 + "}", ".json", "a", "an integer of 5000 digits"),
        ("a:\n  b: .nan\n", ".yaml", "a.b", "NaN"),
        ("a:\n  - .inf\n", ".yml", "a[0]", "Infinity"),
        ('{"a": NaN}', "", "a", "NaN"),
    ],
)
def test_non_standard_numbers_are_refused_at_read_time_with_their_path(text, suffix, where, what) -> None:
    with pytest.raises(SourceFileError) as caught:
        parse_config_text(text, "agent.json", suffix)
    assert f"{where} is {what}" in caught.value.message


def test_a_yaml_integer_past_the_digit_limit_is_a_read_error() -> None:
    with pytest.raises(SourceFileError, match="5000 digits"):
        parse_config_text("a: " + "9" * 5000 + "\n", "agent.yaml", ".yaml")


def test_an_api_record_with_nan_is_refused_with_its_path() -> None:
    with pytest.raises(SourceFileError, match=r"conversation_config\.turn\.turn_timeout is NaN"):
        reject_bad_numbers(
            {"conversation_config": {"turn": {"turn_timeout": float("nan")}}}, "ElevenLabs agent agent_1"
        )


def test_ordinary_numbers_pass_the_read_check() -> None:
    assert parse_config_text('{"a": 1.5, "b": [-2, 1e300]}', "x.json", ".json") == {"a": 1.5, "b": [-2, 1e300]}


# --- findings that name the right thing ---------------------------------------------------------


def test_language_detection_declared_twice_is_reported_as_such(tables) -> None:
    config = cfg(
        {
            "language": "en",
            "prompt": {
                "prompt": "x",
                "tools": [system("language_detection")],
                "built_in_tools": {"language_detection": system("language_detection")},
            },
        },
        language_presets={"hi": {"overrides": {}}},
    )
    result = mapped(config, tables)
    assert not [f for f in result.findings if "Unknown field" in f.message]
    second = findings_at(result, f"{P}.tools[0]")
    assert len(second) == 1 and "declared again" in second[0].message and second[0].severity == "info"
    assert values(result)["language.switching"] == {"isEnabled": True}


def test_language_detection_lists_its_leftover_settings(tables) -> None:
    tool = system("language_detection", only_at_conversation_start=True)
    result = mapped(
        cfg({"language": "en", "prompt": {"prompt": "x", "built_in_tools": {"language_detection": tool}}}), tables
    )
    (leftover,) = findings_at(result, f"{P}.built_in_tools.language_detection")
    assert leftover.message.endswith("no Atoms equivalent: params.only_at_conversation_start")


def test_system_tool_through_tool_ids_lists_its_own_leftover_settings(tables) -> None:
    record = {
        "id": "tool_x",
        "tool_config": system("transfer_to_number", transfers=[transfer()], enable_client_message=False)
        | {"response_timeout_secs": 20, "disable_interruptions": True},
    }
    result = mapped(cfg({"prompt": {"prompt": "x", "tool_ids": ["tool_x"]}}), tables, tools={"tool_x": record})
    (leftover,) = [f for f in findings_at(result, f"{P}.tool_ids[0]") if "no Atoms equivalent" in f.message]
    listed = leftover.message.split(": ", 1)[1]
    assert listed == "disable_interruptions, params.enable_client_message, response_timeout_secs"


def test_end_call_through_tool_ids_lists_its_leftover_settings(tables) -> None:
    record = {"id": "tool_e", "tool_config": system("end_call") | {"tool_call_sound": "typing"}}
    result = mapped(cfg({"prompt": {"prompt": "x", "tool_ids": ["tool_e"]}}), tables, tools={"tool_e": record})
    (leftover,) = [f for f in findings_at(result, f"{P}.tool_ids[0]") if "no Atoms equivalent" in f.message]
    assert leftover.message.endswith(": tool_call_sound")


# --- table rows: what Atoms can and cannot do -----------------------------------------------------

NAMED_SYSTEM_TOOLS = ["end_procedure", "start_procedure", "knowledge_base", "knowledge_base_rag"]
NAMED_TOOL_TYPES = ["api_integration_webhook", "smb"]
NAMED_SOUNDS = ["city", "elevator1", "elevator2", "elevator3", "elevator4"]
NAMED_DESTINATIONS = ["sip_uri", "phone_dynamic_variable", "sip_uri_dynamic_variable"]


def test_every_named_kind_has_a_row_in_the_tables(tables) -> None:
    rows = tables.concepts.tools
    assert set(NAMED_SYSTEM_TOOLS) <= set(rows.system_tools)
    assert set(NAMED_TOOL_TYPES) <= set(rows.tool_types)
    assert set(NAMED_DESTINATIONS) <= set(rows.transfer_destinations)
    (sound,) = [c for c in tables.concepts.concepts if c.id == "background_sound"]
    assert set(NAMED_SOUNDS) <= set(sound.params["no_preset"])


@pytest.mark.parametrize("kind", NAMED_SYSTEM_TOOLS)
def test_system_tool_rows_drive_the_finding(tables, kind) -> None:
    tool = system(
        kind, **({"procedures": {"p1": {"procedure_id": "p1", "version_id": "v1"}}} if "procedure" in kind else {})
    )
    record = {"id": "tool_s", "tool_config": tool}
    result = mapped(cfg({"prompt": {"prompt": "x", "tool_ids": ["tool_s"]}}), tables, tools={"tool_s": record})
    row = tables.concepts.tools.system_tools[kind]
    (finding,) = findings_at(result, f"{P}.tool_ids[0]")
    assert finding.message == f"System tool {kind}: {row.atoms}" and finding.hint == row.hint
    assert (finding.status, finding.severity) == (row.status, row.severity)
    assert warnings_and_errors(result) == only(finding)


@pytest.mark.parametrize("kind", NAMED_TOOL_TYPES)
def test_tool_type_rows_drive_the_finding(tables, kind) -> None:
    result = mapped(
        cfg({"prompt": {"prompt": "x", "tools": [{"type": kind, "name": "crm", "description": "d", "value": {}}]}}),
        tables,
    )
    row = tables.concepts.tools.tool_types[kind]
    (finding,) = findings_at(result, f"{P}.tools[0]")
    assert row.atoms in finding.message and finding.severity == row.severity == "error"
    assert warnings_and_errors(result) == only(finding)


@pytest.mark.parametrize("kind", NAMED_DESTINATIONS)
def test_transfer_destination_rows_drive_the_finding(tables, kind) -> None:
    field = "sip_uri" if "sip" in kind else "phone_number"
    move = system("transfer_to_number", transfers=[transfer(transfer_destination={"type": kind, field: "x"})])
    result = mapped(cfg({"prompt": {"prompt": "x", "built_in_tools": {"transfer_to_number": move}}}), tables)
    row = tables.concepts.tools.transfer_destinations[kind]
    (finding,) = findings_at(result, f"{P}.built_in_tools.transfer_to_number.params.transfers[0]")
    assert row.atoms in finding.message and finding.severity == row.severity
    assert not [a for a in result.assignments if a.path.startswith("singlePromptConfig.tools")]
    assert warnings_and_errors(result) == only(finding)


@pytest.mark.parametrize("sound", NAMED_SOUNDS)
def test_background_sound_rows_say_why(tables, sound) -> None:
    result = mapped(
        cfg(conversation={"background_sound": {"source_type": "preset", "source_id": sound, "volume": 0.5}}), tables
    )
    (concept,) = [c for c in tables.concepts.concepts if c.id == "background_sound"]
    (finding,) = findings_at(result, "conversation_config.conversation.background_sound")
    assert concept.params["no_preset"][sound] in finding.message and "backgroundSound" not in values(result)
    assert warnings_and_errors(result) == only(finding)


def test_the_example_agent_maps_as_before(tables) -> None:
    """A guard: the new passes change nothing for an ordinary agent."""
    source = make_source(json.loads(EXAMPLE.read_text()))
    result = map_agent(source, tables)
    assert not [f for f in result.findings if "clamped" in f.message or "Expected" in f.message]
    assert uncovered_leaves(source, result) == []


# One case per value (about 95 mappings each), so that parallel workers share the campaign.
HOSTILE: list[Any] = [["x"], {"a": 1}, True, 1e308, -1e308, 1e-9, 10**400]


@pytest.mark.parametrize("value", HOSTILE, ids=["list", "object", "bool", "1e308", "-1e308", "1e-9", "10**400"])
def test_the_campaign_fuzz_of_hostile_values_never_raises(tables, value) -> None:
    """Every leaf of the example replaced by each hostile value: mapped, every leaf accounted for."""
    base = make_source(json.loads(EXAMPLE.read_text())).config
    for seg, _ in list(paths.iter_leaves(base)):
        config = copy.deepcopy(base)
        paths.set_value(config, paths.format_path(seg), copy.deepcopy(value))
        try:
            source = make_source(config)
        except Exception:  # noqa: BLE001 - a shape the reader refuses is a read error, tested elsewhere
            continue
        result = map_agent(source, tables)
        assert uncovered_leaves(source, result) == [], (seg, value)
        for a in result.assignments:
            if not a.path.startswith("defaultVariables"):
                assert all(len(repr(n)) < 25 for n in _all_numbers(a.value)), (seg, a)


# --- state files from a newer build ---------------------------------------------------------------


def test_a_state_file_from_a_newer_build_is_refused_and_left_alone(tmp_path) -> None:
    from atoms_migrate.apply.state import load_state, record
    from atoms_migrate.errors import ConfigError

    path = tmp_path / "state.json"
    text = json.dumps({"format_version": 2, "agents": {}, "leases": {"agent_1": {"holder": "ci-7"}}})
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"written by a newer atoms-migrate .*; upgrade"):
        load_state(path)
    with pytest.raises(ConfigError, match="newer atoms-migrate"):
        record(path, "agent_1", None)  # a write re-reads first: nothing is rewritten as version 1
    assert path.read_text() == text


@pytest.mark.parametrize("version", [1, "1", None])
def test_current_state_versions_still_load(tmp_path, version) -> None:
    from atoms_migrate.apply.state import load_state

    path = tmp_path / "state.json"
    path.write_text(json.dumps({"agents": {}} | ({"format_version": version} if version is not None else {})))
    assert load_state(path).format_version == 1


def test_a_state_version_that_is_not_a_number_is_unreadable(tmp_path) -> None:
    from atoms_migrate.apply.state import load_state
    from atoms_migrate.errors import ConfigError

    path = tmp_path / "state.json"
    path.write_text(json.dumps({"format_version": [2], "agents": {}}))
    with pytest.raises(ConfigError, match="not a version number"):
        load_state(path)


# --- saved plans: validated before any request; nothing applied is not a success -----------------


@pytest.fixture
def box(tmp_path):
    from test_e2e import _box

    b = _box(tmp_path)
    yield b
    b.server.shutdown()  # type: ignore[attr-defined]


def _saved_plan(box) -> dict[str, Any]:
    from test_batch_e2e import write_agents

    write_agents(box.cwd / "agents", 2)
    made = box.cli("all", "agents", "--dry-run", "--out", "plan.json")
    assert made.returncode == 0, made.stderr
    box.sandbox.log.clear()
    return json.loads((box.cwd / "plan.json").read_text())


def _tamper(box, doc: dict[str, Any]) -> Any:
    (box.cwd / "plan.json").write_text(json.dumps(doc))
    return box.cli("apply", "plan.json", "--yes")


@pytest.mark.e2e
@pytest.mark.parametrize(
    "source, message",
    [
        ({"kind": "id", "ref": "../../v1/user"}, "is not an ElevenLabs agent id"),
        ({"kind": "id", "ref": "agent_1%2F..%2Fuser"}, "is not an ElevenLabs agent id"),
        ({"kind": "file", "ref": "../outside/agent.json"}, "is not an agent file inside the project"),
        ({"kind": "file", "ref": "/etc/passwd"}, "is not an agent file inside the project"),
        ({"kind": "file", "ref": "agents/agent00.json", "agent_id": "../../v1/user"}, "is not an agent id"),
        ({"kind": "url", "ref": "agents/agent00.json"}, "source.kind must be id or file"),
    ],
)
def test_a_tampered_saved_plan_is_refused_before_any_request(box, source, message) -> None:
    doc = _saved_plan(box)
    doc["agents"][0]["source"] |= source
    run = _tamper(box, doc)
    assert run.returncode == 1 and message in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    assert box.sandbox.log == [], "a request was sent for a tampered plan"


@pytest.mark.e2e
def test_a_tampered_target_id_is_refused_before_any_request(box) -> None:
    doc = _saved_plan(box)
    doc["agents"][1]["target"]["agent_id"] = "x/../../agent"
    run = _tamper(box, doc)
    assert run.returncode == 1 and "agents.1.target.agent_id" in run.stderr and box.sandbox.log == []


@pytest.mark.e2e
def test_a_saved_plan_of_which_nothing_can_be_applied_exits_1(box) -> None:
    doc = _saved_plan(box)
    for path in (box.cwd / "agents").glob("*.json"):
        path.write_text('{"hello": "no longer an agent"}')
    run = box.cli("apply", "plan.json", "--yes")
    assert run.returncode == 1, run.stderr
    assert "refused: " in run.stderr and box.writes() == 0 and len(doc["agents"]) == 2


@pytest.mark.e2e
def test_a_newer_state_file_stops_the_cli_before_any_write(box) -> None:
    from test_e2e import _copy_example

    _copy_example(box)
    state = box.cwd / ".atoms-migrate" / "state.json"
    state.parent.mkdir()
    state.write_text(json.dumps({"format_version": 7, "agents": {}}))
    run = box.cli("agent", "agent.json", "--yes")
    assert run.returncode == 1 and "written by a newer atoms-migrate" in run.stderr and "upgrade" in run.stderr
    assert box.writes() == 0 and json.loads(state.read_text())["format_version"] == 7


# --- v1 drafts: ambiguous writes are checked before they are sent again -----------------------------


@pytest.fixture
def v1(tables):
    from test_apply import _rig

    return _rig(tables, "v1")


@pytest.fixture
def example():
    return make_source(json.loads(EXAMPLE.read_text()))


def _posts(rig, suffix: str) -> int:
    import re

    return sum(1 for e in rig.sandbox.log if e["method"] == "POST" and re.search(suffix, e["path"]))


def _v1_agent(rig):
    (agent,) = rig.sandbox.atoms.agents.values()
    return agent


def test_v1_draft_opened_despite_an_ambiguous_answer_is_found_not_opened_twice(v1, example) -> None:
    v1.sandbox.add_fault(method="POST", path=r"/drafts$", action="commit_then_500")
    _, result = v1.run(example)
    assert result.versioning == "v1" and result.live and not result.differences
    assert _posts(v1, r"/drafts$") == 1 and _v1_agent(v1).drafts == {}


def test_v1_draft_that_was_not_opened_is_opened_again(v1, example) -> None:
    v1.sandbox.add_fault(method="POST", path=r"/drafts$", action="drop")
    _, result = v1.run(example)
    assert not result.differences and _posts(v1, r"/drafts$") == 2 and _v1_agent(v1).drafts == {}


def test_v1_draft_opening_that_keeps_failing_is_given_up_after_bounded_attempts(v1, example) -> None:
    from atoms_migrate.platforms.smallest import AmbiguousWriteError

    v1.sandbox.add_fault(method="POST", path=r"/drafts$", action="status", status=502, times=10)
    with pytest.raises(AmbiguousWriteError):
        v1.run(example)
    assert _posts(v1, r"/drafts$") == 3 and _v1_agent(v1).drafts == {}


def test_v1_publish_that_committed_is_not_repeated(v1, example) -> None:
    v1.sandbox.add_fault(method="POST", path=r"/drafts/[^/]+/publish$", action="commit_then_drop")
    _, result = v1.run(example)
    assert not result.differences and result.live
    assert _posts(v1, r"/publish$") == 1
    assert _v1_agent(v1).active_version_id == result.revision_id


def test_v1_publish_that_did_not_commit_is_sent_again(v1, example) -> None:
    v1.sandbox.add_fault(method="POST", path=r"/drafts/[^/]+/publish$", action="status", status=503)
    _, result = v1.run(example)
    assert not result.differences and _posts(v1, r"/publish$") == 2
    assert _v1_agent(v1).active_version_id == result.revision_id


def test_v1_reads_and_the_config_patch_are_retried(v1, example) -> None:
    v1.sandbox.add_fault(method="GET", path=r"/drafts$", status=503, times=2)
    v1.sandbox.add_fault(method="PATCH", path=r"/config$", action="drop")
    v1.sandbox.add_fault(method="GET", path=r"/versions/[^/]+$", status=429, headers={"Retry-After": "0"})
    _, result = v1.run(example)
    assert not result.differences and result.live
