"""Value sources and tool-call parity (webhooks.py + toolcalls.py), one row per shape seen in real exports.

Every row is written by us in the shapes real ElevenLabs exports use: the API's GET response
fills the value sources a property does not use with empty values (EL §C.3 trap note), the
UI's copy-paste shape lists properties and headers, and hand-written configs leave them out.
Each row checks what the converter writes into the Atoms ``api_call`` *and* that the call
Atoms would make equals the one ElevenLabs makes from the same sample inputs.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from atoms_migrate.mapping.toolcalls import (
    Request,
    Samples,
    compare,
    render_atoms,
    render_elevenlabs,
    samples_for,
    tool_parity,
)
from atoms_migrate.mapping.webhooks import ToolOptions, convert_webhook, is_set, value_source

SYSTEM_VARS = {"system__conversation_id": "call_id", "system__caller_id": "user_number", "system__agent_id": None}
EMPTY = {
    "description": "",
    "dynamic_variable": "",
    "constant_value": "",
    "is_system_provided": False,
    "is_omitted": False,
}


def rename(var: str) -> str | None:
    return SYSTEM_VARS.get(var)


def prop(type_: str = "string", **set_sources: Any) -> dict[str, Any]:
    """A property as the API returns it: every unused source present and empty."""
    return {"type": type_, **EMPTY, **set_sources}


def body_tool(properties: dict[str, Any], required: list[str] | None = None, method: str = "POST") -> dict[str, Any]:
    return {
        "type": "webhook",
        "name": "t",
        "description": "Do it.",
        "api_schema": {
            "url": "https://api.example.com/x",
            "method": method,
            "path_params_schema": {},
            "query_params_schema": None,
            "request_headers": {},
            "content_type": "application/json",
            "request_body_schema": {
                "type": "object",
                "description": "",
                "required": required or [],
                "properties": properties,
            },
        },
    }


def convert(cfg: dict[str, Any], values: dict[str, str] | None = None, secrets: frozenset[str] = frozenset()):
    return convert_webhook(cfg, "t", rename, ToolOptions(values=values or {}, secret_names=secrets))


@pytest.mark.parametrize(
    "value, expected",
    [
        ("", False),
        ("  ", False),
        (None, False),
        (False, False),
        ({}, False),
        ([], False),
        ("x", True),
        (0, True),
        (0.0, True),
        (True, True),
        ({"a": 1}, True),
        ([0], True),
    ],
)
def test_what_counts_as_a_set_value_source(value: Any, expected: bool) -> None:
    assert is_set(value) is expected


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({}, "llm"),
        ({"description": "What to send"}, "llm"),
        ({"dynamic_variable": "incident_id"}, "variable"),  # the example: constant_value "" beside it
        ({"constant_value": "voice"}, "constant"),
        ({"constant_value": 0}, "constant"),  # zero is a value, false is not
        ({"constant_value": False}, "llm"),
        ({"is_system_provided": True}, "system"),
        ({"is_omitted": True}, "omit"),
        ({"value_type": "llm_prompt", "constant_value": "x"}, "llm"),  # the UI names the source outright
        ({"value_type": "constant_value", "dynamic_variable": "v", "constant_value": "x"}, "constant"),
        ({"value_type": "dynamic_variable"}, "llm"),  # a named source with no value does not apply
    ],
)
def test_value_source_ignores_empty_sources(fields: dict[str, Any], expected: str) -> None:
    assert value_source(prop(**fields))[0] == expected


# (id, source tool, what the Atoms tool holds, what ElevenLabs sends as the body/query)
ROWS: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "dynamic variable beside an empty constant",
        body_tool({"incident_id": prop(dynamic_variable="incident_id")}, ["incident_id"]),
        {"requestBody": '{"incident_id": "{{incident_id}}"}', "llmParameters": None},
        {"body": {"incident_id": "<incident_id>"}},
    ),
    (
        "LLM parameter: only the description is set",
        body_tool({"note": prop(description="A short note.")}, ["note"]),
        {
            "requestBody": '{"note": "{{note}}"}',
            "llmParameters": [{"name": "note", "description": "A short note.", "type": "text", "required": True}],
        },
        {"body": {"note": "note-sample"}},
    ),
    (
        "LLM parameter: every source empty, no description",
        body_tool({"ref": prop()}),
        {
            "requestBody": '{"ref": "{{ref}}"}',
            "llmParameters": [{"name": "ref", "description": "The ref.", "type": "text", "required": False}],
        },
        {"body": {"ref": "ref-sample"}},
    ),
    (
        "constant beside an empty variable",
        body_tool({"channel": prop(constant_value="voice")}),
        {"requestBody": '{"channel": "voice"}', "llmParameters": None},
        {"body": {"channel": "voice"}},
    ),
    (
        "numeric constant zero is sent",
        body_tool({"retries": prop("integer", constant_value=0)}),
        {"requestBody": '{"retries": 0}'},
        {"body": {"retries": 0}},
    ),
    (
        "number, integer and boolean LLM parameters stay unquoted",
        body_tool(
            {
                "n": prop("number", description="N"),
                "i": prop("integer", description="I"),
                "b": prop("boolean", description="B"),
            }
        ),
        {"requestBody": '{"n": {{n}}, "i": {{i}}, "b": {{b}}}'},
        {"body": {"n": 7, "i": 7, "b": True}},
    ),
    (
        "enum becomes an Atoms enum with its values",
        body_tool({"size": prop(description="Size", enum=["s", "m"])}, ["size"]),
        {
            "llmParameters": [
                {"name": "size", "description": "Size", "type": "enum", "required": True, "values": ["s", "m"]}
            ]
        },
        {"body": {"size": "s"}},
    ),
    (
        "system variable renamed in the body",
        body_tool({"conv": prop(dynamic_variable="system__conversation_id")}),
        {"requestBody": '{"conv": "{{call_id}}"}'},
        {"body": {"conv": "<call_id>"}},
    ),
    (
        "omitted property is not sent",
        body_tool({"skip": prop(is_omitted=True), "keep": prop(constant_value="k")}),
        {"requestBody": '{"keep": "k"}'},
        {"body": {"keep": "k"}},
    ),
    (
        "nested object: trap-shaped fields at the second level",
        body_tool(
            {
                "caller": {
                    "type": "object",
                    **EMPTY,
                    "required": ["id"],
                    "properties": {"id": prop(dynamic_variable="customer_id"), "mood": prop(description="Mood")},
                }
            }
        ),
        {
            "requestBody": '{"caller": {"id": "{{customer_id}}", "mood": "{{caller_mood}}"}}',
            "llmParameters": [{"name": "caller_mood", "description": "Mood", "type": "text", "required": False}],
        },
        {"body": {"caller": {"id": "<customer_id>", "mood": "caller_mood-sample"}}},
    ),
    (
        "object constant is sent as the object",
        body_tool(
            {"meta": {"type": "object", **EMPTY, "constant_value": {"source": "voice", "v": 2}, "properties": {}}}
        ),
        {"requestBody": '{"meta": {"source": "voice", "v": 2}}'},
        {"body": {"meta": {"source": "voice", "v": 2}}},
    ),
    (
        "array constant is sent as the array",
        body_tool({"tags": {"type": "array", **EMPTY, "constant_value": ["a", "b"], "items": {"type": "string"}}}),
        {"requestBody": '{"tags": ["a", "b"]}'},
        {"body": {"tags": ["a", "b"]}},
    ),
    (
        "path parameter from a dynamic variable",
        {
            "type": "webhook",
            "name": "t",
            "description": "d",
            "api_schema": {
                "url": "https://api.example.com/orders/{order_id}",
                "method": "GET",
                "path_params_schema": {"order_id": prop(dynamic_variable="order_id")},
            },
        },
        {"url": "https://api.example.com/orders/{{order_id}}", "llmParameters": None},
        {"url": "https://api.example.com/orders/<order_id>"},
    ),
    (
        "query parameters: system variable, LLM, constant",
        {
            "type": "webhook",
            "name": "t",
            "description": "d",
            "api_schema": {
                "url": "https://api.example.com/s",
                "method": "GET",
                "query_params_schema": {
                    "required": ["q"],
                    "properties": {
                        "q": prop(description="Search"),
                        "who": prop(dynamic_variable="system__caller_id"),
                        "limit": prop("integer", constant_value=5),
                    },
                },
            },
        },
        {
            "queryParams": [
                {"key": "q", "value": "{{q}}"},
                {"key": "who", "value": "{{user_number}}"},
                {"key": "limit", "value": "5"},
            ]
        },
        {"query": (("q", "q-sample"), ("who", "<user_number>"), ("limit", "5"))},
    ),
    (
        "headers: system variable in a literal, variable header",
        {
            "type": "webhook",
            "name": "t",
            "description": "d",
            "api_schema": {
                "url": "https://api.example.com/h",
                "method": "GET",
                "request_headers": {"X-Caller": "{{system__caller_id}}", "X-Account": {"variable_name": "account"}},
            },
        },
        {"headers": {"X-Caller": "{{user_number}}", "X-Account": "{{account}}"}},
        {"headers": {"X-Caller": "<user_number>", "X-Account": "<account>"}},
    ),
    (
        "UI shape: property and header lists, value_type",
        {
            "type": "webhook",
            "name": "t",
            "description": "d",
            "api_schema": {
                "url": "https://api.example.com/ui",
                "method": "POST",
                "path_params_schema": [],
                "query_params_schema": [],
                "request_headers": [{"type": "value", "name": "Content-Type", "value": "application/json"}],
                "request_body_schema": {
                    "id": "body",
                    "type": "object",
                    "description": "",
                    "required": False,
                    "value_type": "llm_prompt",
                    "properties": [
                        {
                            "id": "zip",
                            "type": "string",
                            "value_type": "llm_prompt",
                            "description": "ZIP code",
                            "dynamic_variable": "",
                            "constant_value": "",
                            "enum": None,
                            "is_system_provided": False,
                            "required": True,
                        },
                        {
                            "id": "lead",
                            "type": "string",
                            "value_type": "dynamic_variable",
                            "description": "",
                            "dynamic_variable": "lead_id",
                            "constant_value": "",
                            "enum": None,
                            "is_system_provided": False,
                            "required": False,
                        },
                    ],
                },
            },
        },
        {
            "requestBody": '{"zip": "{{zip}}", "lead": "{{lead_id}}"}',
            "headers": {"Content-Type": "application/json"},
            "llmParameters": [{"name": "zip", "description": "ZIP code", "type": "text", "required": True}],
        },
        {"body": {"zip": "zip-sample", "lead": "<lead_id>"}},
    ),
    (
        "CLI flat shape with GET: parameters travel in the query",
        {
            "type": "webhook",
            "name": "t",
            "description": "d",
            "url": "https://api.example.com/cart",
            "method": "GET",
            "parameters": {
                "type": "object",
                "required": ["cartId"],
                "properties": {"cartId": prop(dynamic_variable="cart")},
            },
        },
        {"queryParams": [{"key": "cartId", "value": "{{cart}}"}]},
        {"query": (("cartId", "<cart>"),)},
    ),
    (
        "legacy list parameters",
        {
            "type": "webhook",
            "name": "t",
            "description": "d",
            "webhook": {"url": "https://api.example.com/s", "method": "POST"},
            "parameters": [
                {"name": "query", "type": "string", "description": "Q", "required": True},
                {"name": "n", "type": "number", "description": "N"},
            ],
        },
        {"requestBody": '{"query": "{{query}}", "n": {{n}}}'},
        {"body": {"query": "query-sample", "n": 7}},
    ),
    # Review rows (issue 13): shapes the first version rendered differently on the two sides.
    (
        "integer enum: the slot is unquoted, so the member stays a number",
        body_tool({"level": prop("integer", description="Level", enum=[1, 2])}, ["level"]),
        {
            "requestBody": '{"level": {{level}}}',
            "llmParameters": [
                {"name": "level", "description": "Level", "type": "enum", "required": True, "values": ["1", "2"]}
            ],
        },
        {"body": {"level": 1}},
    ),
    (
        "boolean enum stays a boolean",
        body_tool({"ok": prop("boolean", description="Ok", enum=[True, False])}),
        {"requestBody": '{"ok": {{ok}}}'},
        {"body": {"ok": True}},
    ),
    (
        "object constant holding a system variable: filled on both sides",
        body_tool(
            {
                "meta": {
                    "type": "object",
                    **EMPTY,
                    "constant_value": {"conv": "{{system__conversation_id}}", "n": [1, "{{system__caller_id}}"]},
                    "properties": {},
                }
            }
        ),
        {"requestBody": '{"meta": {"conv": "{{call_id}}", "n": [1, "{{user_number}}"]}}'},
        {"body": {"meta": {"conv": "<call_id>", "n": [1, "<user_number>"]}}},
    ),
    (
        "UI shape: a dynamic-variable header naming a system variable",
        {
            "type": "webhook",
            "name": "t",
            "description": "d",
            "api_schema": {
                "url": "https://api.example.com/ui",
                "method": "GET",
                "request_headers": [
                    {"type": "dynamic_variable", "name": "X-Caller", "value": "system__caller_id"},
                    {"type": "value", "name": "Accept", "value": "application/json"},
                ],
            },
        },
        {"headers": {"X-Caller": "{{user_number}}", "Accept": "application/json"}},
        {"headers": {"X-Caller": "<user_number>", "Accept": "application/json"}},
    ),
    (
        "an LLM parameter never takes the name of a variable the tool reads (one namespace on Atoms)",
        body_tool(
            {
                "order_id": prop(description="Order id"),
                "ref": prop(dynamic_variable="order_id"),
                "user_number": prop(description="Number"),
                "caller": prop(dynamic_variable="system__caller_id"),
            }
        ),
        {
            "requestBody": '{"order_id": "{{order_id_2}}", "ref": "{{order_id}}", '
            '"user_number": "{{user_number_2}}", "caller": "{{user_number}}"}'
        },
        {
            "body": {
                "order_id": "order_id_2-sample",
                "ref": "<order_id>",
                "user_number": "user_number_2-sample",
                "caller": "<user_number>",
            }
        },
    ),
    (
        "a path parameter named twice in the URL is one parameter",
        {
            "type": "webhook",
            "name": "t",
            "description": "d",
            "api_schema": {
                "url": "https://api.example.com/a/{id}/b/{id}",
                "method": "GET",
                "path_params_schema": {"id": prop(description="Id")},
            },
        },
        {
            "url": "https://api.example.com/a/{{id}}/b/{{id}}",
            "llmParameters": [{"name": "id", "description": "Id", "type": "text", "required": True}],
        },
        {"url": "https://api.example.com/a/id-sample/b/id-sample"},
    ),
    (
        "value_type spelled short (llm, constant) beside a stale source: both sides read it the same",
        body_tool(
            {
                "a": prop(value_type="llm", dynamic_variable="stale", description="A"),
                "b": prop(value_type="constant", dynamic_variable="stale", constant_value="fixed"),
            }
        ),
        {"requestBody": '{"a": "{{a}}", "b": "fixed"}'},
        {"body": {"a": "a-sample", "b": "fixed"}},
    ),
    (
        "credential-named header made of a variable is a template, not a literal credential",
        {
            "type": "webhook",
            "name": "t",
            "description": "d",
            "api_schema": {
                "url": "https://api.example.com/h",
                "method": "GET",
                "request_headers": {
                    "Authorization": "Bearer {{access_token}}",
                    "X-Session": "{{system__conversation_id}}",
                },
            },
        },
        {"headers": {"Authorization": "Bearer {{access_token}}", "X-Session": "{{call_id}}"}},
        {"headers": {"Authorization": "Bearer <access_token>", "X-Session": "<call_id>"}},
    ),
]


_BODY, _HEADERS = "api_schema.request_body_schema.properties", "api_schema.request_headers"
# The warnings and errors (severity, path) each row's conversion gives: exactly these; a row not named gives none.
ROW_NOTES: dict[str, set[tuple[str, str]]] = {
    "number, integer and boolean LLM parameters stay unquoted": {
        ("warning", f"{_BODY}.b"),
        ("warning", f"{_BODY}.i"),
        ("warning", f"{_BODY}.n"),
    },
    "headers: system variable in a literal, variable header": {
        ("warning", f"{_HEADERS}.X-Account"),
        ("warning", f"{_HEADERS}.X-Caller"),
    },
    "legacy list parameters": {("warning", "parameters.properties.n")},
    "boolean enum stays a boolean": {("warning", f"{_BODY}.ok")},
    "UI shape: a dynamic-variable header naming a system variable": {("warning", f"{_HEADERS}.X-Caller")},
    "value_type spelled short (llm, constant) beside a stale source: both sides read it the same": {
        ("warning", f"{_BODY}.a"),
        ("warning", f"{_BODY}.b"),
    },
    "credential-named header made of a variable is a template, not a literal credential": {
        ("warning", f"{_HEADERS}.Authorization"),
        ("warning", f"{_HEADERS}.X-Session"),
    },
}
assert set(ROW_NOTES) <= {r[0] for r in ROWS}, "ROW_NOTES names a row that does not exist"


@pytest.mark.parametrize("name, cfg, atoms, elevenlabs", ROWS, ids=[r[0] for r in ROWS])
def test_value_source_row(name: str, cfg: dict[str, Any], atoms: dict[str, Any], elevenlabs: dict[str, Any]) -> None:
    conv = convert(cfg)
    assert not conv.blocked, [n.message for n in conv.notes if n.severity == "error"]
    assert {(n.severity, n.path) for n in conv.notes if n.severity != "info"} == ROW_NOTES.get(name, set())
    for key, value in atoms.items():
        assert conv.tool.get(key) == value, f"{key}: {conv.tool.get(key)!r}"
    parity = tool_parity(cfg, conv.tool, "tools[0]", rename)
    for key, value in elevenlabs.items():
        assert getattr(parity.elevenlabs, key) == value, f"ElevenLabs {key}: {getattr(parity.elevenlabs, key)!r}"
    assert parity.differences == (), parity.differences


# Shapes whose wire type Atoms cannot reproduce: migrated, and the parity check says how the call differs.
KNOWN_DIFFERENCES = [
    (
        "integer dynamic variable: Atoms does not type variables",
        body_tool({"seats": prop("integer", dynamic_variable="seats")}),
        '{"seats": "{{seats}}"}',
        'body.seats: ElevenLabs sends 42, Atoms sends "42"',
    ),
    (
        "LLM array: empty constant [] is unset, the LLM writes JSON text",
        body_tool(
            {
                "ids": {
                    "type": "array",
                    **EMPTY,
                    "constant_value": [],
                    "description": "Ids",
                    "items": {"type": "integer"},
                }
            }
        ),
        '{"ids": "{{ids}}"}',
        'body.ids: ElevenLabs sends [7], Atoms sends "[7]"',
    ),
]


@pytest.mark.parametrize(
    "cfg, body, difference", [r[1:] for r in KNOWN_DIFFERENCES], ids=[r[0] for r in KNOWN_DIFFERENCES]
)
def test_wire_type_atoms_cannot_keep_is_a_reported_difference(cfg: dict[str, Any], body: str, difference: str) -> None:
    conv = convert(cfg)
    assert conv.tool["requestBody"] == body
    assert tool_parity(cfg, conv.tool, "tools[0]", rename).differences == (difference,)


def test_the_reported_bug_is_a_difference_naming_tool_field_and_values() -> None:
    cfg = body_tool({"incident_id": prop(dynamic_variable="incident_id")})
    emptied = {
        "type": "api_call",
        "name": "t",
        "url": "https://api.example.com/x",
        "method": "POST",
        "requestBody": '{"incident_id": ""}',
    }
    parity = tool_parity(cfg, emptied, "tools[0]", rename)
    assert parity.differences == ('body.incident_id: ElevenLabs sends "<incident_id>", Atoms sends ""',)
    assert parity.to_dict()["equal"] is False


@pytest.mark.parametrize(
    "atoms_change, difference",
    [
        ({"method": "PUT"}, 'method: ElevenLabs sends "POST", Atoms sends "PUT"'),
        (
            {"url": "https://other.example.com/x"},
            'url.host: ElevenLabs sends "api.example.com", Atoms sends "other.example.com"',
        ),
        ({"url": "https://api.example.com/y"}, 'url.path: ElevenLabs sends "/x", Atoms sends "/y"'),
        ({"requestBody": '{"n": "{{n}}"}'}, 'body.n: ElevenLabs sends 7, Atoms sends "7"'),
        ({"requestBody": '{"n": {{n}}, "extra": 1}'}, "body.extra: ElevenLabs sends nothing, Atoms sends 1"),
        ({"requestBody": "{}"}, "body.n: ElevenLabs sends 7, Atoms sends nothing"),
        ({"queryParams": [{"key": "debug", "value": "1"}]}, 'query.debug: ElevenLabs sends nothing, Atoms sends "1"'),
        ({"headers": {"X-Key": "v"}}, 'headers.X-Key: ElevenLabs sends nothing, Atoms sends "v"'),
        ({"requestBody": '{"n": {{n}}'}, "body: Atoms' body is not valid JSON once filled"),
    ],
)
def test_compare_names_each_kind_of_difference(atoms_change: dict[str, Any], difference: str) -> None:
    cfg = body_tool({"n": prop("number", description="N")})
    tool = {**convert(cfg).tool, **atoms_change}
    differences = tool_parity(cfg, tool, "tools[0]", rename).differences
    assert differences and differences[0].startswith(difference), differences


def test_header_names_compare_case_insensitively_and_secrets_as_refs() -> None:
    a = Request(
        "GET", "https://h.example/x", headers={"content-type": "application/json", "Authorization": "<secret:s1>"}
    )
    b = Request(
        "GET", "https://h.example/x", headers={"Content-Type": "application/json", "authorization": "<secret:s1>"}
    )
    assert compare(a, b) == []
    assert compare(
        a,
        Request(
            "GET", "https://h.example/x", headers={"Content-Type": "application/json", "Authorization": "<secret:s2>"}
        ),
    )


def test_secret_header_renders_as_the_same_reference_on_both_sides() -> None:
    cfg = {
        "type": "webhook",
        "name": "t",
        "description": "d",
        "api_schema": {
            "url": "https://api.example.com/x",
            "request_headers": {"Authorization": {"secret_id": "sec_1"}, "X-Api-Key": "sk-live-123456"},
        },
    }
    conv = convert(cfg, secrets=frozenset({"sec_1"}))
    parity = tool_parity(cfg, conv.tool, "tools[0]", rename)
    assert parity.equal, parity.differences
    assert parity.elevenlabs.headers == {"Authorization": "<secret:sec_1>", "X-Api-Key": "<secret:t.X-Api-Key>"}
    assert "sk-live-123456" not in json.dumps(parity.to_dict())


def test_system_variable_without_an_atoms_name_is_a_difference() -> None:
    cfg = body_tool({"agent": prop(dynamic_variable="system__agent_id")})
    parity = tool_parity(cfg, convert(cfg).tool, "tools[0]", rename)
    assert parity.differences == (
        'body.agent: ElevenLabs sends "<system__agent_id>", Atoms sends "{{system__agent_id}}"',
    )


def test_system_provided_property_is_a_difference() -> None:
    cfg = body_tool({"ts": prop(is_system_provided=True)})
    conv = convert(cfg)
    assert conv.lossy and not tool_parity(cfg, conv.tool, "tools[0]", rename).equal


def test_samples_are_shared_and_typed() -> None:
    cfg = body_tool({"n": prop("integer", description="N"), "v": prop(dynamic_variable="system__caller_id")})
    samples = samples_for(cfg, rename)
    assert samples.llm == {"n": 7}
    assert samples.variables == {"system__caller_id": "<user_number>"} and samples.atoms_variables == {
        "user_number": "<user_number>"
    }
    el, _ = render_elevenlabs(cfg, samples)
    atoms = render_atoms(convert(cfg).tool, samples)
    assert el.body == atoms.body == {"n": 7, "v": "<user_number>"}


def test_atoms_renderer_fills_parameters_by_their_declared_type() -> None:
    tool = {
        "type": "api_call",
        "name": "t",
        "url": "https://h.example/{{id}}",
        "method": "POST",
        "requestBody": '{"n": {{n}}, "s": "{{s}}", "e": "{{e}}"}',
        "llmParameters": [
            {"name": "n", "type": "number"},
            {"name": "s", "type": "text"},
            {"name": "e", "type": "enum", "values": ["x", "y"]},
            {"name": "id", "type": "text"},
        ],
    }
    request = render_atoms(tool, Samples({"n": "seven", "s": 5, "e": "y", "id": "A1"}, {}, {}))
    assert request.url == "https://h.example/A1"
    assert request.body == {"n": 7, "s": "5", "e": "y"}


# --- placeholders and renaming around the tool --------------------------------------------------


@pytest.mark.parametrize(
    "url, token",
    [
        ("https://YOUR_BACKEND_HOST/api/x", "YOUR_BACKEND_HOST"),
        ("https://YOUR_BACKEND_SERVER_URL.com/api/endpoint", "YOUR_BACKEND_SERVER_URL"),
        ("https://API_HOST:8443/x", "API_HOST"),
        ("BASE_URL/api/x", "BASE_URL"),
    ],
)
def test_all_caps_host_token_is_a_placeholder_filled_by_set(url: str, token: str) -> None:
    cfg = {"type": "webhook", "name": "t", "description": "d", "api_schema": {"url": url, "method": "GET"}}
    conv = convert(cfg)
    [error] = [n for n in conv.notes if n.severity == "error"]
    assert token in error.message and f"--set {token}=" in error.hint
    filled = convert(cfg, values={token: "api.example.com"})
    assert not filled.blocked, filled.notes
    assert filled.tool["url"].startswith("https://api.example.com")
    parity = tool_parity(cfg, filled.tool, "tools[0]", rename, {token: "api.example.com"})
    assert parity.equal, parity.differences


def test_set_value_with_its_own_scheme_replaces_the_scheme() -> None:
    conv = convert(
        {"type": "webhook", "name": "t", "description": "d", "api_schema": {"url": "https://YOUR_HOST/x"}},
        values={"YOUR_HOST": "http://localhost:8080"},
    )
    assert conv.tool["url"] == "http://localhost:8080/x"


def test_lowercase_hosts_are_not_placeholders() -> None:
    assert not convert(
        {"type": "webhook", "name": "t", "description": "d", "api_schema": {"url": "https://api.example.com/CAPS_PATH"}}
    ).blocked


def test_system_variables_are_renamed_in_descriptions() -> None:
    cfg = body_tool({"who": prop(description="Caller {{system__caller_id}}")})
    cfg["description"] = "Call for {{system__caller_id}} in {{system__conversation_id}}."
    conv = convert(cfg)
    assert conv.tool["description"] == "Call for {{user_number}} in {{call_id}}."
    assert conv.tool["llmParameters"][0]["description"] == "Caller {{user_number}}"


# --- in the plan ----------------------------------------------------------------------------------


def _plan(tables, agent_fields: dict[str, Any], **options: Any):
    from conftest import agent_config, make_source

    from atoms_migrate.mapping.engine import MapOptions
    from atoms_migrate.plan.planner import plan_agent

    return plan_agent(make_source(agent_config(**agent_fields)), tables, options=MapOptions(**options))


def test_a_difference_is_an_error_finding_and_the_tool_is_never_mapped(tables) -> None:
    hook = body_tool({"agent": prop(dynamic_variable="system__agent_id")})
    plan = _plan(tables, {"prompt": {"prompt": "x", "tools": [hook]}})
    [parity] = plan.tool_parity
    assert not parity.equal and parity.source_path == "conversation_config.agent.prompt.tools[0]"
    errors = [f for f in plan.findings if f.severity == "error"]
    assert [e.message for e in errors] == [
        "Tool t would not make the same HTTP call on Atoms: body.agent: "
        'ElevenLabs sends "<system__agent_id>", Atoms sends "{{system__agent_id}}".'
    ]
    [change] = [c for c in plan.changes if c.path == "singlePromptConfig.tools[0]"]
    assert change.status == "lossy"


def test_an_equal_call_leaves_the_tool_mapped(tables) -> None:
    hook = body_tool({"incident_id": prop(dynamic_variable="incident_id")})
    plan = _plan(tables, {"prompt": {"prompt": "x", "tools": [hook]}})
    assert [p.equal for p in plan.tool_parity] == [True]
    [change] = [c for c in plan.changes if c.path == "singlePromptConfig.tools[0]"]
    assert change.status == "mapped"
    assert not [f for f in plan.findings if f.severity == "error"]


def test_a_blocked_tool_has_no_parity_entry(tables) -> None:
    hook = {"type": "webhook", "name": "t", "description": "d", "api_schema": {"url": "https://YOUR_HOST/x"}}
    assert _plan(tables, {"prompt": {"prompt": "x", "tools": [hook]}}).tool_parity == ()


def _system(name: str, **params: Any) -> dict[str, Any]:
    return {"type": "system", "name": name, "description": "", "params": {"system_tool_type": name, **params}}


def test_transfer_declared_twice_becomes_one_transfer_call(tables) -> None:
    transfer = {
        "transfer_destination": {"type": "phone", "phone_number": "+14155550100"},
        "condition": "asks for a human",
        "transfer_type": "blind",
    }
    plan = _plan(
        tables,
        {
            "prompt": {
                "prompt": "x",
                "built_in_tools": {"transfer_to_number": _system("transfer_to_number", transfers=[transfer])},
                "tools": [_system("transfer_to_number", transfers=[transfer])],
            }
        },
    )
    tools = plan.target_config["singlePromptConfig"]["tools"]
    assert [t["type"] for t in tools] == ["transfer_call"]
    assert any(
        f.status == "ignored"
        and "declared again" in f.message
        and f.source_path.startswith("conversation_config.agent.prompt.tools[0]")
        for f in plan.findings
    )


def test_system_variables_are_renamed_in_system_tool_texts(tables) -> None:
    """Review: end_call and transfer_call descriptions (read by the LLM) and the voicemail message kept system__
    names."""
    end_call = {**_system("end_call"), "description": "End when {{system__caller_id}} says bye."}
    transfer = {
        "transfer_destination": {"type": "phone", "phone_number": "+14155550100"},
        "condition": "{{system__caller_id}} asks for a human",
    }
    voicemail = _system(
        "voicemail_detection", voicemail_message="Call {{system__called_number}} back, ref {{system__agent_id}}."
    )
    plan = _plan(
        tables,
        {
            "prompt": {
                "prompt": "x",
                "built_in_tools": {
                    "end_call": end_call,
                    "transfer_to_number": _system("transfer_to_number", transfers=[transfer]),
                    "voicemail_detection": voicemail,
                },
            }
        },
    )
    tools = {t["type"]: t for t in plan.target_config["singlePromptConfig"]["tools"]}
    assert tools["end_call"]["description"] == "End when {{user_number}} says bye."
    assert tools["transfer_call"]["description"] == "{{user_number}} asks for a human"
    assert (
        plan.target_config["voiceMailDetectionConfig"]["endText"]
        == "Call {{agent_number}} back, ref {{system__agent_id}}."
    )
    assert any("system__agent_id" in f.message and f.source_path.endswith("voicemail_message") for f in plan.findings)


def test_a_second_transfer_to_another_number_is_kept(tables) -> None:
    one = {"transfer_destination": {"type": "phone", "phone_number": "+14155550100"}, "condition": "sales"}
    two = {"transfer_destination": {"type": "phone", "phone_number": "+14155550199"}, "condition": "support"}
    plan = _plan(
        tables,
        {
            "prompt": {
                "prompt": "x",
                "built_in_tools": {"transfer_to_number": _system("transfer_to_number", transfers=[one])},
                "tools": [_system("transfer_to_number", transfers=[one, two])],
            }
        },
    )
    numbers = [t["transferNumber"] for t in plan.target_config["singlePromptConfig"]["tools"]]
    assert numbers == ["+14155550100", "+14155550199"]


@pytest.mark.parametrize("name", ["end_session", "hang_up", "end_call", "endCall", "Hang-Up"])
def test_client_tool_that_ends_the_session_suggests_end_call(tables, name: str) -> None:
    client = {
        "type": "client",
        "name": name,
        "description": "Close the widget.",
        "parameters": {"type": "object", "properties": {}},
    }
    plan = _plan(tables, {"prompt": {"prompt": "x", "tools": [client]}})
    [finding] = [
        f
        for f in plan.findings
        if f.source_path == "conversation_config.agent.prompt.tools[0]" and f.severity == "error"
    ]
    assert "end_call" in finding.hint and "hang up" in finding.hint
    with_end_call = _plan(
        tables, {"prompt": {"prompt": "x", "built_in_tools": {"end_call": _system("end_call")}, "tools": [client]}}
    )
    [finding] = [
        f
        for f in with_end_call.findings
        if f.source_path == "conversation_config.agent.prompt.tools[0]" and f.severity == "error"
    ]
    assert "already gets one" in finding.hint


def test_other_client_tools_get_no_end_call_suggestion(tables) -> None:
    client = {
        "type": "client",
        "name": "show_summary",
        "description": "Show it.",
        "parameters": {"type": "object", "properties": {}},
    }
    plan = _plan(tables, {"prompt": {"prompt": "x", "tools": [client]}})
    assert not any("end_call" in f.hint for f in plan.findings)


def test_credential_constant_in_the_body_is_resolved_at_apply_and_matches_on_read_back() -> None:
    from atoms_migrate.mapping.refs import refs_in, resolve
    from atoms_migrate.plan.compare import matches

    cfg = body_tool({"api_key": prop(constant_value='sk-live-"1"'), "q": prop(description="Q")})
    conv = convert(cfg)
    assert conv.tool["requestBody"] == '{"api_key": "<secret:t.api_key>", "q": "{{q}}"}'
    assert conv.literal_secrets == {"t.api_key": 'sk-live-"1"'}
    assert refs_in(conv.tool) == {"<secret:t.api_key>"}
    sent = resolve(conv.tool, {"<secret:t.api_key>": 'sk-live-"1"'})
    assert json.loads(sent["requestBody"].replace("{{q}}", "x")) == {"api_key": 'sk-live-"1"', "q": "x"}
    assert matches(conv.tool, sent) and not matches(conv.tool, {**sent, "requestBody": '{"api_key": "", "q": "{{q}}"}'})
    parity = tool_parity(cfg, conv.tool, "tools[0]", rename)
    assert parity.equal and "sk-live" not in json.dumps(parity.to_dict())


def test_a_literal_credential_at_any_depth_is_never_shown_and_compares_as_its_reference() -> None:
    """Review: a nested body constant named like a credential leaked into the parity block."""
    cfg = body_tool(
        {
            "token": prop(constant_value="tk_live_TOPLEVEL1"),
            "inner": {
                "type": "object",
                **EMPTY,
                "required": [],
                "properties": {
                    "password": prop(constant_value="pw_live_NESTED22"),
                    "deeper": {
                        "type": "object",
                        **EMPTY,
                        "properties": {"api_key": prop(constant_value="ak_live_DEEP333")},
                    },
                },
            },
        }
    )
    cfg["api_schema"]["query_params_schema"] = {
        "required": [],
        "properties": {"secret": prop(constant_value="qs_live_QUERY44")},
    }
    conv = convert(cfg)
    assert set(conv.literal_secrets.values()) == {
        "tk_live_TOPLEVEL1",
        "pw_live_NESTED22",
        "ak_live_DEEP333",
        "qs_live_QUERY44",
    }
    parity = tool_parity(cfg, conv.tool, "tools[0]", rename)
    shown = json.dumps(parity.to_dict())
    assert not any(value in shown for value in conv.literal_secrets.values()), shown
    assert parity.elevenlabs.body == {
        "token": "<secret:t.token>",
        "inner": {"password": "<secret:t.inner_password>", "deeper": {"api_key": "<secret:t.inner_deeper_api_key>"}},
    }
    assert parity.differences == ()


def test_a_placeholder_header_given_a_secret_compares_as_that_secret() -> None:
    """Review: ``Bearer YOUR_TOKEN`` on a header not named like a credential was a false difference."""
    cfg = body_tool({"a": prop(constant_value="b")})
    cfg["api_schema"]["request_headers"] = {"X-Partner": "Bearer YOUR_TOKEN"}
    conv = convert(cfg, secrets=frozenset({"t.X-Partner"}))
    assert conv.tool["headers"] == {"X-Partner": "<secret:t.X-Partner>"}
    parity = tool_parity(cfg, conv.tool, "tools[0]", rename)
    assert parity.elevenlabs.headers == {"X-Partner": "<secret:t.X-Partner>"}
    assert parity.differences == ()


def test_a_credential_inside_an_object_or_array_constant_is_kept_out_of_the_plan() -> None:
    """Review: an object constant {"password": ...} went into the plan, the reports and the Tool calls block
    verbatim."""
    from atoms_migrate.mapping.refs import resolve

    cfg = body_tool(
        {
            "credentials": {
                "type": "object",
                **EMPTY,
                "constant_value": {"user": "bob", "password": "pw_live_OBJ777"},
                "properties": {},
            },
            "api_keys": {
                "type": "array",
                **EMPTY,
                "constant_value": ["k_live_A1", "k_live_B2"],
                "items": {"type": "string"},
            },
            "tags": {
                "type": "array",
                **EMPTY,
                "constant_value": ["a", "{{system__conversation_id}}"],
                "items": {"type": "string"},
            },
        }
    )
    conv = convert(cfg)
    assert conv.literal_secrets == {
        "t.credentials_user": "bob",
        "t.credentials_password": "pw_live_OBJ777",
        "t.api_keys_0": "k_live_A1",
        "t.api_keys_1": "k_live_B2",
    }
    parity = tool_parity(cfg, conv.tool, "tools[0]", rename)
    shown = json.dumps(conv.tool) + json.dumps(parity.to_dict())
    assert (
        not any(value in shown for value in ["pw_live_OBJ777", "k_live_A1", "k_live_B2"]) and parity.differences == ()
    )
    sent = json.loads(resolve(conv.tool["requestBody"], {f"<secret:{k}>": v for k, v in conv.literal_secrets.items()}))
    assert sent == {
        "credentials": {"user": "bob", "password": "pw_live_OBJ777"},
        "api_keys": ["k_live_A1", "k_live_B2"],
        "tags": ["a", "{{call_id}}"],
    }, "the values go to Atoms at apply time"
