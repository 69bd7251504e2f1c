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
from conftest import CORPUS, run_installed
from test_corpus import FILES, NOT_AGENTS

from atoms_migrate.mapping.toolcalls import Request, compare, render_atoms, render_elevenlabs, samples_for
from atoms_migrate.mapping.webhooks import ToolOptions, convert_webhook, is_set, normalise_tool
from atoms_migrate.sandbox.server import ATOMS_KEY, ELEVENLABS_KEY, Sandbox
from atoms_migrate.source.shapes import normalise, read_config_file

# The corpus's own placeholders ({{BASE_URL}}, {{CONVEX_URL}}) and secret, as a user would pass them.
SET = {"BASE_URL": "https://bea.example.org", "CONVEX_URL": "https://convex.example.org"}
SECRETS = {"YvrtbpWPIqneImCL8LVk": "test-secret-value"}
AGENTS = [f for f in FILES if f.name not in NOT_AGENTS]
TOOL_FILES = sorted((CORPUS / "tools").glob("*.json")) if CORPUS.is_dir() else []
needs_corpus = pytest.mark.skipif(not AGENTS, reason=f"corpus not found at {CORPUS} (clone with ../shared beside it)")


def api_shape(cfg: dict[str, Any]) -> dict[str, Any]:
    """The tool as the API returns it: unused value sources filled with empty values."""
    empty = {
        "description": "",
        "dynamic_variable": "",
        "constant_value": "",
        "is_system_provided": False,
        "is_omitted": False,
    }

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
        tools = (source.config.get("conversation_config", {}).get("agent", {}).get("prompt", {}) or {}).get(
            "tools"
        ) or []
        found += [
            (f"{file.name}:{t.get('name')}", t) for t in tools if isinstance(t, dict) and t.get("type") == "webhook"
        ]
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


@pytest.mark.e2e
@needs_corpus
@pytest.mark.parametrize("name", AGENTS_WITH_WEBHOOKS)
def test_live_api_call_tools_make_the_elevenlabs_call(tables, sandbox_url, tmp_path: Path, name: str) -> None:
    sandbox, url = sandbox_url
    env = {
        "SMALLEST_BASE_URL": url,
        "SMALLEST_API_KEY": ATOMS_KEY,
        "ELEVENLABS_BASE_URL": url,
        "ELEVENLABS_API_KEY": ELEVENLABS_KEY,
    }
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


@pytest.mark.e2e
@needs_corpus
def test_live_api_call_tools_from_tool_files_make_the_elevenlabs_call(tables, sandbox_url, tmp_path: Path) -> None:
    """The tools/ records reached through tool_ids and --tools-dir (review: only inline tools were run live).

    The records are read from the corpus and written to a scratch folder under tool ids, with an
    agent of our own that lists them, as a user migrating offline would have them.
    """
    sandbox, url = sandbox_url
    tools_dir = tmp_path / "tools"
    tools_dir.mkdir()
    webhooks: dict[str, dict[str, Any]] = {}
    for file in TOOL_FILES:
        tool = json.loads(file.read_text())
        if tool.get("type") == "webhook":
            tool_id = "tool_" + file.stem.rsplit("__", 1)[-1].replace("-", "_")
            (tools_dir / f"{tool_id}.json").write_text(json.dumps(tool))
            webhooks[tool_id] = tool
    agent = {
        "agent_id": "agent_toolfiles",
        "name": "Tool files",
        "conversation_config": {
            "agent": {
                "first_message": "Hello.",
                "language": "en",
                "prompt": {"prompt": "Help the caller.", "llm": "gpt-4o", "tool_ids": sorted(webhooks)},
            }
        },
    }
    (tmp_path / "agent.json").write_text(json.dumps(agent))
    env = {
        "SMALLEST_BASE_URL": url,
        "SMALLEST_API_KEY": ATOMS_KEY,
        "ELEVENLABS_BASE_URL": url,
        "ELEVENLABS_API_KEY": ELEVENLABS_KEY,
        **{f"ATOMS_MIGRATE_SECRET_{k.upper()}": v for k, v in SECRETS.items()},
    }
    args = [f"--set={k}={v}" for k, v in SET.items()]
    blocked = run_installed(
        "agent", "agent.json", "--tools-dir", "tools", "--yes", "--json", *args, cwd=tmp_path, env=env
    )
    assert blocked.returncode != 0 and not sandbox.atoms.summary(), "a call that differs stops the apply by default"
    assert "add_to_cart would not make the same HTTP call" in blocked.stdout + blocked.stderr
    # --allow-errors: add_to_cart's array field is a reported difference (an error finding that blocks an apply by
    # default)
    run = run_installed(
        "agent", "agent.json", "--tools-dir", "tools", "--yes", "--allow-errors", "--json", *args, cwd=tmp_path, env=env
    )
    assert run.returncode == 0, run.stderr
    assert "test-secret-value" not in run.stdout + run.stderr
    planned = {p["tool"]: p for p in json.loads(run.stdout)["agents"][0]["tool_parity"]}
    [live] = [a["live_config"] for a in sandbox.atoms.summary() if not a["archived"]]
    live_tools = [t for t in live["singlePromptConfig"]["tools"] if t.get("type") == "api_call"]
    assert len(live_tools) == len(webhooks) == len(planned)
    rename = tables.concepts.system_variables.get
    ids = sorted(webhooks)
    with_secret = 0
    for tool in live_tools:
        index = int(planned[tool["name"]]["source_path"].rsplit("[", 1)[1].rstrip("]"))
        cfg = webhooks[ids[index]]
        samples = samples_for(cfg, rename, SET)
        elevenlabs, _ = render_elevenlabs(cfg, samples)
        atoms = render_atoms(tool, samples)
        if "Authorization" in atoms.headers:  # the live tool holds the secret's value, the plan its reference
            assert atoms.headers["Authorization"] == "test-secret-value"
            with_secret += 1
            atoms = Request(
                atoms.method,
                atoms.url,
                atoms.query,
                {**atoms.headers, "Authorization": elevenlabs.headers["Authorization"]},
                atoms.body,
                atoms.body_error,
                atoms.encoding,
            )
        assert compare(elevenlabs, atoms) == KNOWN_DIFFERENCES.get(tool["name"], []), tool["name"]
    assert with_secret == 2, "book_appointment and check_availability authenticate with a workspace secret"


SECRETS_AGENT = Path(__file__).parent / "fixtures" / "toolcalls" / "secrets-everywhere.json"
LITERALS = ["qk_live_LITERALQUERY1", "sk_live_LITERALHEADER2", "bk_live_LITERALBODY3", "pw_live_LITERALNESTED4"]


@pytest.mark.e2e
@pytest.mark.parametrize("form", [["-v"], ["--json"], ["--report", "report.md"], ["--out", "plan.json"]])
def test_no_secret_reaches_any_output(tmp_path: Path, form: list[str]) -> None:
    """Review: literal credentials at every position of a webhook, and a --secret value, in every output form."""
    run = run_installed(
        "agent", str(SECRETS_AGENT), "--dry-run", *form, "--secret", "sec_crm=ws_SUPPLIEDVALUE5", cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    written = "".join(f.read_text() for f in tmp_path.rglob("*") if f.is_file())
    everything = run.stdout + run.stderr + written
    assert "crm_update" in everything
    for value in [*LITERALS, "ws_SUPPLIEDVALUE5"]:
        assert value not in everything, (value, form)
    if form == ["--json"]:
        [parity] = json.loads(run.stdout)["agents"][0]["tool_parity"]
        assert parity["equal"], parity["differences"]
        assert parity["elevenlabs"]["body"]["auth"]["password"] == "<secret:crm_update.auth_password>"


@pytest.mark.e2e
def test_a_secret_variable_in_a_header_goes_live_bound_and_is_never_shown(sandbox_url, tmp_path: Path) -> None:
    """Review: ``Authorization: Bearer {{secret__api_key}}`` (EL §A.8: secret variables live in tool headers).

    Hidden before as a literal credential, it went live as the text {{secret__api_key}}. Now it is a
    missing secret without --secret, and with it the live header holds the value, the plan the reference.
    """
    sandbox, url = sandbox_url
    tool = {
        "type": "webhook",
        "name": "lookup",
        "description": "Look it up.",
        "api_schema": {
            "url": "https://api.example.com/lookup",
            "method": "GET",
            "request_headers": {
                "Authorization": "Bearer {{secret__api_key}}",
                "X-Auth-Token": "Bearer {{access_token}}",
            },
        },
    }
    agent = {
        "agent_id": "agent_secretvar",
        "name": "Secret variable",
        "conversation_config": {
            "agent": {
                "first_message": "Hello.",
                "language": "en",
                "prompt": {"prompt": "Help.", "llm": "gpt-4o", "tools": [tool]},
            }
        },
    }
    (tmp_path / "agent.json").write_text(json.dumps(agent))
    env = {"SMALLEST_BASE_URL": url, "SMALLEST_API_KEY": ATOMS_KEY}
    missing = run_installed("agent", "agent.json", "--dry-run", cwd=tmp_path, env=env)
    assert "secret variable secret__api_key" in missing.stdout and "--secret api_key=VALUE" in missing.stdout
    run = run_installed(
        "agent", "agent.json", "--yes", "--json", "--secret", "api_key=sk_live_BOUNDVALUE6", cwd=tmp_path, env=env
    )
    assert run.returncode == 0, run.stderr
    assert "sk_live_BOUNDVALUE6" not in run.stdout + run.stderr + "".join(
        f.read_text() for f in tmp_path.rglob("*.json")
    )
    [parity] = json.loads(run.stdout)["agents"][0]["tool_parity"]
    assert parity["equal"] and parity["atoms"]["headers"] == {
        "Authorization": "Bearer <secret:api_key>",
        "X-Auth-Token": "Bearer <access_token>",
    }
    assert json.loads(run.stdout)["apply"][0]["verified"] is True, "read back: a masked live credential still matches"
    [live] = [a["live_config"] for a in sandbox.atoms.summary() if not a["archived"]]
    [live_tool] = live["singlePromptConfig"]["tools"]
    assert live_tool["headers"] == {
        "Authorization": "Bearer sk_live_BOUNDVALUE6",
        "X-Auth-Token": "Bearer {{access_token}}",
    }
