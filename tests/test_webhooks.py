"""Webhook -> api_call conversion (webhooks.py): one row per rule, shapes written by us."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from atoms_migrate.mapping.webhooks import ToolOptions, convert_webhook, substitute, unresolved_placeholders

SYSTEM_VARS = {"system__conversation_id": "call_id", "system__caller_id": "user_number", "system__agent_turns": None}


def rename(var: str) -> str | None:
    return SYSTEM_VARS.get(var)


def hook(api: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "webhook", "name": "t", "description": "Do it.", "api_schema": api, **extra}


def convert(cfg: dict[str, Any], values: dict[str, str] | None = None, secrets: frozenset[str] = frozenset()):
    return convert_webhook(cfg, "t", rename, ToolOptions(values=values or {}, secret_names=secrets))


def fill(template: str, params: list[dict[str, Any]]) -> Any:
    """What the server would send: every {{name}} replaced by a sample of its type."""
    samples = {"text": '"abc"', "enum": '"abc"', "number": "3", "boolean": "true"}
    types = {p["name"]: p["type"] for p in params}
    # A quoted slot holds text: substitute inside the quotes.
    text = re.sub(
        r'"\{\{(\w+)\}\}"',
        lambda m: (
            samples.get(types.get(m.group(1), "text"), '"x"') if types.get(m.group(1)) in ("text", "enum") else '"v"'
        ),
        template,
    )
    text = re.sub(
        r"\{\{(\w+)\}\}",
        lambda m: samples.get(types.get(m.group(1), "text"), "3") if types.get(m.group(1)) != "text" else "[1]",
        text,
    )
    return json.loads(text)


ROWS = [
    (
        "path parameter from the LLM",
        hook(
            {
                "url": "https://api.example.com/orders/{order_id}",
                "path_params_schema": {"order_id": {"type": "string", "description": "Order id"}},
            }
        ),
        {
            "url": "https://api.example.com/orders/{{order_id}}",
            "method": "GET",
            "llmParameters": [{"name": "order_id", "description": "Order id", "type": "text", "required": True}],
        },
    ),
    (
        "query: LLM, constant and system variable",
        hook(
            {
                "url": "https://api.example.com/s",
                "method": "get",
                "query_params_schema": {
                    "properties": {
                        "q": {"type": "string", "description": "Search"},
                        "limit": {"type": "integer", "constant_value": 5},
                        "conv": {"type": "string", "dynamic_variable": "system__conversation_id"},
                        "skip": {"type": "string", "is_omitted": True},
                    },
                    "required": ["q"],
                },
            }
        ),
        {
            "method": "GET",
            "queryParams": [
                {"key": "q", "value": "{{q}}"},
                {"key": "limit", "value": "5"},
                {"key": "conv", "value": "{{call_id}}"},
            ],
            "llmParameters": [{"name": "q", "description": "Search", "type": "text", "required": True}],
        },
    ),
    (
        "enum and boolean parameters",
        hook(
            {
                "url": "https://api.example.com/x",
                "method": "POST",
                "request_body_schema": {
                    "type": "object",
                    "properties": {
                        "size": {"type": "string", "enum": ["s", "m"], "description": "Size"},
                        "hot": {"type": "boolean", "description": "Hot?"},
                    },
                },
            }
        ),
        {
            "requestBody": '{"size": "{{size}}", "hot": {{hot}}}',
            "llmParameters": [
                {"name": "size", "description": "Size", "type": "enum", "required": False, "values": ["s", "m"]},
                {"name": "hot", "description": "Hot?", "type": "boolean", "required": False},
            ],
        },
    ),
    (
        "timeout in ms, clamped",
        hook({"url": "https://api.example.com/x"}, response_timeout_secs=45),
        {"timeout": 30000},
    ),
    (
        "short timeout raised to the minimum",
        hook({"url": "https://api.example.com/x"}, response_timeout_secs=0.5),
        {"timeout": 1000},
    ),
    (
        "response assignments",
        hook(
            {"url": "https://api.example.com/x"},
            assignments=[{"dynamic_variable": "order_status", "value_path": "data.0.status"}],
        ),
        {"responseVariables": [{"variableName": "order_status", "jsonPath": "$.data[0].status"}]},
    ),
    (
        "list-style parameters of hand-written YAML",
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
        {
            "requestBody": '{"query": "{{query}}", "n": {{n}}}',
            "llmParameters": [
                {"name": "query", "description": "Q", "type": "text", "required": True},
                {"name": "n", "description": "N", "type": "number", "required": False},
            ],
        },
    ),
    (
        "flat shape with GET: parameters go to the query",
        {
            "type": "webhook",
            "name": "t",
            "description": "d",
            "url": "https://api.example.com/cart",
            "method": "GET",
            "parameters": {
                "type": "object",
                "properties": {"cartId": {"type": "string", "description": "Cart"}},
                "required": ["cartId"],
            },
        },
        {
            "queryParams": [{"key": "cartId", "value": "{{cartId}}"}],
            "llmParameters": [{"name": "cartId", "description": "Cart", "type": "text", "required": True}],
        },
    ),
    (
        "plain headers kept",
        hook({"url": "https://api.example.com/x", "request_headers": {"Content-Type": "application/json"}}),
        {"headers": {"Content-Type": "application/json"}},
    ),
]


# The warnings and errors (severity, path) each row's conversion gives: exactly these; a row not named gives none.
ROW_NOTES: dict[str, set[tuple[str, str]]] = {
    "enum and boolean parameters": {("warning", "api_schema.request_body_schema.properties.hot")},
    "timeout in ms, clamped": {("warning", "response_timeout_secs")},
    "short timeout raised to the minimum": {("warning", "response_timeout_secs")},
    "list-style parameters of hand-written YAML": {("warning", "parameters.properties.n")},
}
assert set(ROW_NOTES) <= {r[0] for r in ROWS}, "ROW_NOTES names a row that does not exist"


@pytest.mark.parametrize("name, cfg, expected", ROWS, ids=[r[0] for r in ROWS])
def test_webhook_rule(name: str, cfg: dict[str, Any], expected: dict[str, Any]) -> None:
    conv = convert(cfg)
    assert not conv.blocked, conv.notes
    assert {(n.severity, n.path) for n in conv.notes if n.severity != "info"} == ROW_NOTES.get(name, set())
    for key, value in expected.items():
        assert conv.tool.get(key) == value, f"{key}: {conv.tool.get(key)!r}"
    assert conv.tool["type"] == "api_call" and conv.tool["name"] == "t"


def test_nested_body_is_flattened_and_the_template_is_json_once_filled() -> None:
    cfg = hook(
        {
            "url": "https://api.example.com/cart",
            "method": "POST",
            "request_body_schema": {
                "type": "object",
                "required": ["item"],
                "properties": {
                    "item": {"type": "integer", "description": "Item"},
                    "mods": {
                        "type": "object",
                        "description": "Mods",
                        "properties": {
                            "bun": {"type": "string", "description": "Bun"},
                            "extras": {"type": "array", "items": {"type": "integer"}, "description": "Extras"},
                        },
                    },
                    "source": {"type": "string", "constant_value": "voice"},
                    "conv": {"type": "string", "dynamic_variable": "system__conversation_id"},
                },
            },
        }
    )
    conv = convert(cfg)
    names = [p["name"] for p in conv.tool["llmParameters"]]
    assert names == ["item", "mods_bun", "mods_extras"]
    body = fill(conv.tool["requestBody"], conv.tool["llmParameters"])
    assert body == {"item": 3, "mods": {"bun": "abc", "extras": "abc"}, "source": "voice", "conv": "v"}
    assert "{{call_id}}" in conv.tool["requestBody"]
    assert any(n.status == "lossy" and "mods_extras" in n.message for n in conv.notes), (
        "the array parameter is reported as lossy"
    )


@pytest.mark.parametrize(
    "url, token",
    [
        ("{{BASE_URL}}/api/tools/x", "{{BASE_URL}}"),
        ("${API_BASE_URL}/x", "${API_BASE_URL}"),
        ("https://<NGROK_URL>/x", "<NGROK_URL>"),
        ("https://api.example.com/{{system_env__api_host}}/x", "{{system_env__api_host}}"),
    ],
)
def test_unresolved_url_placeholder_is_an_error_naming_it(url: str, token: str) -> None:
    conv = convert(hook({"url": url}))
    errors = [n for n in conv.notes if n.severity == "error"]
    assert conv.blocked and token in errors[0].message
    assert "--set " in errors[0].hint


def test_set_substitutes_the_placeholder() -> None:
    conv = convert(
        hook(
            {
                "url": "{{BASE_URL}}/api/tools/{id}",
                "path_params_schema": {"id": {"type": "string", "description": "Id"}},
            }
        ),
        values={"BASE_URL": "https://bea.example.org"},
    )
    assert not conv.blocked
    assert conv.tool["url"] == "https://bea.example.org/api/tools/{{id}}"


def test_template_variable_in_the_path_is_not_a_placeholder() -> None:
    assert unresolved_placeholders("https://api.example.com/u/{{user_id}}") == []
    text, used = substitute("<A>/${B}/{{C}}", {"A": "1", "B": "2"})
    assert (text, sorted(used)) == ("1/2/{{C}}", ["A", "B"])


def test_secret_header_without_a_value_is_an_error_saying_what_to_pass() -> None:
    conv = convert(
        hook({"url": "https://api.example.com/x", "request_headers": {"Authorization": {"secret_id": "sec_1"}}})
    )
    [error] = [n for n in conv.notes if n.severity == "error"]
    assert (
        "sec_1" in error.message and "--secret sec_1=VALUE" in error.hint and "ATOMS_MIGRATE_SECRET_SEC_1" in error.hint
    )


def test_secret_header_with_a_value_becomes_a_reference() -> None:
    conv = convert(
        hook(
            {
                "url": "https://api.example.com/x",
                "request_headers": {"Authorization": {"secret_id": "sec_1"}, "X-Env": {"env_var_label": "region"}},
            }
        ),
        secrets=frozenset({"sec_1", "REGION"}),
    )
    assert not conv.blocked
    assert conv.tool["headers"] == {"Authorization": "<secret:sec_1>", "X-Env": "<secret:region>"}


def test_literal_credential_is_kept_out_of_the_tool() -> None:
    conv = convert(
        hook(
            {
                "url": "https://api.example.com/x",
                "request_headers": {"X-API-Key": "sk-live-123456", "Accept": "text/plain"},
            }
        )
    )
    assert conv.tool["headers"] == {"X-API-Key": "<secret:t.X-API-Key>", "Accept": "text/plain"}
    assert conv.literal_secrets == {"t.X-API-Key": "sk-live-123456"}
    assert "sk-live-123456" not in json.dumps(conv.tool) + "".join(n.message + n.hint for n in conv.notes)


@pytest.mark.parametrize(
    "header, value",
    [
        ("X-Api-Key", "REDACTED"),
        ("Authorization", "Bearer YOUR_API_KEY"),
        ("X-Token", "<<runtime: token>>"),
        ("X-Api-Key", "xxxxxxxx"),
        ("X-Secret", "changeme"),
        ("X-Tenant", "YOUR_TENANT_ID"),
        ("Authorization", "Basic <API_KEY>"),
        # review: vendor-prefixed and spelled-out stand-ins
        ("Authorization", "Bearer sk-xxxxxxxxxxxx"),
        ("X-Api-Key", "sk_test_xxxxxxxx"),
        ("X-Api-Key", "API_KEY_HERE"),
        ("Authorization", "Token REPLACE_ME"),
        ("X-Token", "xxx-xxx-xxx"),
        ("Authorization", "Bearer ..."),
    ],
)
def test_placeholder_header_value_is_a_missing_secret(header: str, value: str) -> None:
    conv = convert(hook({"url": "https://api.example.com/x", "request_headers": {header: value}}))
    [error] = [n for n in conv.notes if n.severity == "error"]
    assert f"--secret t.{header}=VALUE" in error.hint
    assert header not in conv.tool.get("headers", {}) and value not in json.dumps(conv.tool)
    supplied = convert(
        hook({"url": "https://api.example.com/x", "request_headers": {header: value}}),
        secrets=frozenset({f"t.{header}"}),
    )
    assert not supplied.blocked and supplied.tool["headers"] == {header: f"<secret:t.{header}>"}


@pytest.mark.parametrize("where", ["query", "body"])
def test_placeholder_in_a_credential_named_query_or_body_constant_is_a_missing_secret(where: str) -> None:
    """Review: api_key=YOUR_API_KEY as a constant was sent live as the literal credential."""
    const = {
        "type": "string",
        "description": "",
        "dynamic_variable": "",
        "constant_value": "YOUR_API_KEY",
        "is_system_provided": False,
        "is_omitted": False,
    }
    schema = {"properties": {"api_key": const}, "required": []}
    api = {
        "url": "https://api.example.com/x",
        "method": "POST",
        **(
            {"query_params_schema": schema}
            if where == "query"
            else {"request_body_schema": {"type": "object", **schema}}
        ),
    }
    conv = convert(hook(api))
    [error] = [n for n in conv.notes if n.severity == "error"]
    assert "api_key of tool t holds a placeholder" in error.message and "--secret t.api_key=VALUE" in error.hint
    assert conv.literal_secrets == {}
    supplied = convert(hook(api), secrets=frozenset({"t.api_key"}))
    assert not supplied.blocked and "<secret:t.api_key>" in json.dumps(supplied.tool)


@pytest.mark.parametrize(
    "value", ["application/json", "Bearer sk-live-abc123", "en-GB", "no-cache", "Bearer sk-proj-abcxxxxdef"]
)
def test_real_header_values_are_not_placeholders(value: str) -> None:
    assert not convert(hook({"url": "https://api.example.com/x", "request_headers": {"X-H": value}})).blocked


def test_auth_connection_needs_a_secret() -> None:
    cfg = hook({"url": "https://api.example.com/x", "auth_connection": {"auth_connection_id": "conn_9"}})
    assert convert(cfg).blocked
    conv = convert(cfg, secrets=frozenset({"conn_9"}))
    assert conv.tool["headers"] == {"Authorization": "<secret:conn_9>"}


def test_form_encoding_and_leftovers_are_reported() -> None:
    conv = convert(
        hook(
            {
                "url": "https://api.example.com/x",
                "method": "POST",
                "content_type": "application/x-www-form-urlencoded",
                "response_filter": {"mode": "allow"},
            },
            pre_tool_speech="force",
        )
    )
    messages = " ".join(n.message for n in conv.notes)
    assert "x-www-form-urlencoded" in messages
    assert "api_schema.response_filter" in messages and "pre_tool_speech" in messages


def test_unknown_method_is_an_error() -> None:
    assert convert(hook({"url": "https://api.example.com/x", "method": "TRACE"})).blocked


def test_missing_description_gets_a_generic_one() -> None:
    conv = convert({"type": "webhook", "name": "t", "api_schema": {"url": "https://api.example.com/x"}})
    assert conv.tool["description"] == "Call t."
    assert any(n.path == "description" and n.status == "lossy" for n in conv.notes)


@pytest.mark.parametrize("value", ["{{system__caller_id}}", {"variable_name": "system__caller_id"}])
def test_a_variable_in_a_header_is_flagged_the_same_in_both_forms(value: Any) -> None:
    """Review: Atoms §D.3 documents static headers; a {{var}} written in the value was not flagged, a variable_name
    header was."""
    conv = convert(hook({"url": "https://api.example.com/x", "request_headers": {"X-Caller": value}}))
    assert conv.tool["headers"] == {"X-Caller": "{{user_number}}"}
    [note] = [n for n in conv.notes if n.path == "api_schema.request_headers.X-Caller"]
    assert (note.status, note.severity) == ("lossy", "warning") and "not headers" in note.message
    assert conv.lossy


@pytest.mark.parametrize(
    "kind, required, warned",
    [
        ("integer", False, True),
        ("boolean", False, True),
        ("integer", True, False),
        ("string", False, False),
    ],
)
def test_an_optional_unquoted_body_slot_is_reported(kind: str, required: bool, warned: bool) -> None:
    """Review: ElevenLabs omits an optional field the LLM leaves out; Atoms would send {{n}} as written, not JSON."""
    prop = {
        "type": kind,
        "description": "N",
        "dynamic_variable": "",
        "constant_value": "",
        "is_system_provided": False,
        "is_omitted": False,
    }
    conv = convert(
        hook(
            {
                "url": "https://api.example.com/x",
                "method": "POST",
                "request_body_schema": {
                    "type": "object",
                    "required": ["n"] if required else [],
                    "properties": {"n": prop},
                },
            }
        )
    )
    notes = [n for n in conv.notes if "is optional" in n.message]
    assert bool(notes) is warned
    if warned:
        assert notes[0].severity == "warning" and "{{n}} stays as written" in notes[0].message and conv.lossy


def test_secret_variables_in_a_header_are_missing_secrets_until_given() -> None:
    """EL §A.8: ``{{secret__name}}`` may only be used in tool headers; its value cannot be read."""
    api = {
        "url": "https://api.example.com/x",
        "request_headers": {"Authorization": "Bearer {{secret__api_key}}", "X-Pair": "{{secret__id}}:{{secret__pw}}"},
    }
    conv = convert(hook(api))
    assert sorted(n.hint for n in conv.notes if n.severity == "error") == [
        "Pass --secret api_key=VALUE (or set ATOMS_MIGRATE_SECRET_API_KEY).",
        "Pass --secret id=VALUE (or set ATOMS_MIGRATE_SECRET_ID).",
        "Pass --secret pw=VALUE (or set ATOMS_MIGRATE_SECRET_PW).",
    ]
    given = convert(hook(api), secrets=frozenset({"api_key", "id", "pw"}))
    assert not given.blocked and given.literal_secrets == {}
    assert given.tool["headers"] == {"Authorization": "Bearer <secret:api_key>", "X-Pair": "<secret:id>:<secret:pw>"}
