"""Real webhook tools of ../shared/corpus: no value is emptied, and live Atoms tools make the ElevenLabs call.

The corpus is read where it lies (skipped when absent). Each tool is checked as published and
in the shape a real ``GET /v1/convai/agents/{id}`` returns it, where every value source a
property does not use is present and empty (EL §C.3 trap note): that shape is what emptied
most parameters before value sources were resolved the way ElevenLabs does.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from atoms_migrate.sandbox.server import ATOMS_KEY, ELEVENLABS_KEY, Sandbox
from atoms_migrate.source import normalise, read_config_file
from atoms_migrate.toolcalls import compare, render_atoms, render_elevenlabs, samples_for
from atoms_migrate.webhooks import ToolOptions, convert_webhook, is_set, normalise_tool
from conftest import CORPUS, run_installed
from test_corpus import FILES, NOT_AGENTS

# The corpus's own placeholders ({{BASE_URL}}, {{CONVEX_URL}}) and secret, as a user would pass them.
SET = {"BASE_URL": "https://bea.example.org", "CONVEX_URL": "https://convex.example.org"}
SECRETS = {"YvrtbpWPIqneImCL8LVk": "test-secret-value"}
AGENTS = [f for f in FILES if f.name not in NOT_AGENTS]
TOOL_FILES = sorted((CORPUS / "tools").glob("*.json")) if CORPUS.is_dir() else []
needs_corpus = pytest.mark.skipif(not AGENTS, reason=f"corpus not found at {CORPUS} (clone with ../shared beside it)")


def api_shape(cfg: dict[str, Any]) -> dict[str, Any]:
    """The tool as the API returns it: unused value sources filled with empty values."""
    empty = {"description": "", "dynamic_variable": "", "constant_value": "", "is_system_provided": False, "is_omitted": False}

    def fill(schema: Any) -> Any:
        if not isinstance(schema, dict):
            return schema
        if isinstance(schema.get("properties"), dict):
            return {**schema, "properties": {k: fill(v) for k, v in schema["properties"].items()}}
        return {**empty, **schema}

    cfg = copy.deepcopy(cfg)
    api = cfg.get("api_schema")
    if isinstance(api, dict):
        for key in ("request_body_schema", "query_params_schema"):
            api[key] = fill(api.get(key))
        if isinstance(api.get("path_params_schema"), dict):
            api["path_params_schema"] = {k: fill(v) for k, v in api["path_params_schema"].items()}
    elif isinstance(cfg.get("parameters"), dict):
        cfg["parameters"] = fill(cfg["parameters"])
    return cfg


def webhook_tools() -> list[tuple[str, dict[str, Any]]]:
    """Every webhook tool of the corpus: inline in agents, and the tool files."""
    found: list[tuple[str, dict[str, Any]]] = []
    for file in AGENTS:
        source = normalise(read_config_file(file), file.name)
        tools = (source.config.get("conversation_config", {}).get("agent", {}).get("prompt", {}) or {}).get("tools") or []
        found += [(f"{file.name}:{t.get('name')}", t) for t in tools if isinstance(t, dict) and t.get("type") == "webhook"]
    for file in TOOL_FILES:
        tool = json.loads(file.read_text())
        if tool.get("type") == "webhook":
            found.append((f"tools/{file.name}", tool))
    return found


def wanted_values(cfg: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """(position, path) of every property filled by a dynamic variable or by the LLM."""
    req = normalise_tool(cfg)
    out: list[tuple[str, tuple[str, ...]]] = []

    def walk(position: str, schema: dict[str, Any] | None, prefix: tuple[str, ...] = ()) -> None:
        for key, prop in ((schema or {}).get("properties") or {}).items():
            if not isinstance(prop, dict) or prop.get("is_omitted") is True:
                continue
            variable = is_set(prop.get("dynamic_variable"))
            llm = not variable and not is_set(prop.get("constant_value")) and prop.get("is_system_provided") is not True
            if llm and isinstance(prop.get("properties"), dict) and prop["properties"]:
                walk(position, prop, prefix + (key,))
            elif variable or llm:
                out.append((position, prefix + (key,)))

    walk("query", req.query)
    method = str(req.method or "GET").upper()
    walk("body" if method in ("POST", "PUT", "PATCH") else "query", req.body)
    return out


TOOLS = webhook_tools() if AGENTS else []


@needs_corpus
@pytest.mark.parametrize("shape", ["as published", "api GET shape"])
def test_no_variable_or_llm_parameter_becomes_an_empty_string(tables, shape: str) -> None:
    rename = tables.concepts.system_variables.get
    options = ToolOptions(values=SET, secret_names=frozenset(SECRETS))
    checked, emptied = 0, []
    for label, cfg in TOOLS:
        cfg = api_shape(cfg) if shape == "api GET shape" else cfg
        conv = convert_webhook(cfg, str(cfg.get("name")), rename, options)
        assert not conv.blocked, (label, [n.message for n in conv.notes if n.severity == "error"])
        atoms = render_atoms(conv.tool, samples_for(cfg, rename, SET))
        query = dict(atoms.query)
        for position, path in wanted_values(cfg):
            checked += 1
            node: Any = atoms.body if position == "body" else query.get(path[-1])
            if position == "body":
                for key in path:
                    node = node.get(key) if isinstance(node, dict) else None
            if node == "" or node is None:
                emptied.append(f"{label} {position}.{'.'.join(path)}")
    assert checked >= 80, f"only {checked} parameters found: has the corpus moved?"
    assert emptied == []


# Wire types Atoms cannot reproduce; the plan reports them as error findings (see test_toolcalls.py).
KNOWN_DIFFERENCES = {
    "add_to_cart": ['body.modifiers.addOns: ElevenLabs sends [7], Atoms sends "[7]"'],
}


@pytest.fixture
def sandbox_url():
    sandbox = Sandbox()
    server = sandbox.serve()
    yield sandbox, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


AGENTS_WITH_WEBHOOKS = sorted({label.split(":")[0] for label, _ in TOOLS if ":" in label})


@needs_corpus
@pytest.mark.parametrize("name", AGENTS_WITH_WEBHOOKS)
def test_live_api_call_tools_make_the_elevenlabs_call(tables, sandbox_url, tmp_path: Path, name: str) -> None:
    sandbox, url = sandbox_url
    env = {"SMALLEST_BASE_URL": url, "SMALLEST_API_KEY": ATOMS_KEY, "ELEVENLABS_BASE_URL": url, "ELEVENLABS_API_KEY": ELEVENLABS_KEY}
    args = [f"--set={k}={v}" for k, v in SET.items()]
    # --allow-errors: these agents also carry client tools (error findings that block an apply by default)
    run = run_installed("agent", str(CORPUS / name), "--yes", "--allow-errors", "--json", *args, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    planned = {p["tool"]: p for p in json.loads(run.stdout)["agents"][0]["tool_parity"]}
    [live] = [a["live_config"] for a in sandbox.atoms.summary() if not a["archived"]]
    live_tools = [t for t in live["singlePromptConfig"]["tools"] if t.get("type") == "api_call"]
    assert live_tools and sorted(t["name"] for t in live_tools) == sorted(planned)
    source = normalise(read_config_file(CORPUS / name), name).config
    rename = tables.concepts.system_variables.get
    for tool in live_tools:
        path = planned[tool["name"]]["source_path"]
        index = int(path.rsplit("[", 1)[1].rstrip("]"))
        cfg = source["conversation_config"]["agent"]["prompt"]["tools"][index]
        samples = samples_for(cfg, rename, SET)
        elevenlabs, _ = render_elevenlabs(cfg, samples)
        atoms = render_atoms(tool, samples)
        assert atoms.to_dict() == planned[tool["name"]]["atoms"], "the live tool renders what the plan said"
        assert compare(elevenlabs, atoms) == KNOWN_DIFFERENCES.get(tool["name"], []), tool["name"]
