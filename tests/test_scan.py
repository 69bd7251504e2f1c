"""The client-code scanner: findings by syntax per language and style, negatives, skipping, whole-unit fixes, SARIF,
CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import run_installed

from atoms_migrate.mapping.tables import check_tables, load_tables
from atoms_migrate.report.sarif import sarif
from atoms_migrate.scan.fix import UnitPort, plan_fixes, syntax_errors
from atoms_migrate.scan.scanner import Known, Scanner, SourceText, iter_files, scan_paths

FIXTURES = Path(__file__).parent / "fixtures" / "scan"
EXPECTED = yaml.safe_load((FIXTURES / "expected.yaml").read_text())
KNOWN = Known(
    agents={
        "agent_3301k7mnbvcxzlkjhgfdsaqwer9": "a1f0aa",
        "agent_4401k8poiuytrewqlkjhgfdsa2b": "b2f0bb",
        "agent_8801k3mnbvcxzasdfghjklpo5": "c3f0cc",
        "agent_6601k1zaqwsxcderfvbgtyhnu4": "d4f0dd",
        "agent_9901k3zxcvbnmlkjhgfdsapoiu1": "e5f0ee",
        "agent_01jxyz5k9mfg983brhmhkd98n6": "f6f0ff",
    }
)


@pytest.fixture(scope="module")
def tables():
    return load_tables()


def scanner(tables, known: Known | None = None) -> Scanner:
    return Scanner(tables.scan, known)


def port(tables, folder: Path, known: Known = KNOWN):  # type: ignore[no-untyped-def]
    """Scan ``folder`` and plan --fix: the one ported file, and the scan result."""
    s = scanner(tables, known)
    result = scan_paths([folder], s, base=folder)
    [file_fix] = plan_fixes(result.texts, result.findings, s, annotate=False).files
    return file_fix, result


def copy(names: list[str], to: Path) -> None:
    for name in names:
        target = to / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / name, target)


@pytest.mark.parametrize("name", sorted(EXPECTED["files"]))
def test_findings_per_fixture(tables, name: str) -> None:
    result = scan_paths([FIXTURES / name], scanner(tables), base=FIXTURES)
    assert sorted({(f.line, f.rule_id) for f in result.findings}) == sorted(
        {(line, rule) for line, rule in EXPECTED["files"][name]}
    )


def test_whole_fixture_tree_skips_the_minified_bundle_with_one_summary(tables) -> None:
    result = scan_paths([FIXTURES], scanner(tables), base=FIXTURES)
    assert result.generated == EXPECTED["generated"]
    assert not any(f.path in EXPECTED["generated"] for f in result.findings)
    assert {f.path for f in result.findings} == {name for name, rows in EXPECTED["files"].items() if rows}


def test_sdk_members_are_found_by_binding_not_by_name(tables, tmp_path: Path) -> None:
    (tmp_path / "Mixed.tsx").write_text(
        'import { useConversation } from "@elevenlabs/react";\n'
        "function Agent() {\n"
        "  const { startSession, isSpeaking } = useConversation({});\n"
        "  return <p onClick={() => startSession({})}>{isSpeaking ? 1 : 0}</p>;\n"
        "}\n"
        "function Avatar() {\n"
        "  const [isSpeaking, setIsSpeaking] = useState(false);\n"
        "  const startSession = () => setIsSpeaking(true);\n"
        "  return <p onClick={startSession}>{isSpeaking ? 1 : 0}</p>;\n"
        "}\n"
    )
    lines = {(f.line, f.rule_id) for f in scan_paths([tmp_path], scanner(tables), base=tmp_path).findings}
    assert (4, "EL-EVT-TALKING") in lines and (4, "EL-JS-START-SESSION") in lines
    assert not {line for line, _ in lines} & {7, 8, 9}


def test_protocol_names_need_a_convai_socket(tables, tmp_path: Path) -> None:
    body = (
        "import json\nimport websockets\n\nasync def run(url):\n    async with websockets.connect(url) as ws:\n"
        "        msg = json.loads(await ws.recv())\n"
        '        if msg["type"] == "ping":\n            print(msg["ping_event"])\n'
    )
    (tmp_path / "other.py").write_text("# talks to our ElevenLabs-free chat server\n" + body)
    (tmp_path / "convai.py").write_text(
        body.replace("connect(url)", 'connect("wss://api.elevenlabs.io/v1/convai/conversation?agent_id=x")')
    )
    found = {(f.path, f.rule_id) for f in scan_paths([tmp_path], scanner(tables), base=tmp_path).findings}
    assert ("convai.py", "EL-EVT-PING") in found and not any(path == "other.py" for path, _ in found)


def test_a_socket_url_known_at_run_time_is_convai_when_the_file_fetches_a_signed_url(tables, tmp_path: Path) -> None:
    (tmp_path / "s.py").write_text(
        "import json\nfrom websockets.sync.client import connect\n\n\ndef url(client, agent):\n"
        "    return client.conversational_ai.conversations.get_signed_url(agent_id=agent).signed_url\n\n\n"
        "def run(ws_url):\n    with connect(ws_url) as ws:\n"
        '        if json.loads(ws.recv())["type"] == "ping":\n            pass\n'
    )
    (tmp_path / "plain.py").write_text(
        (tmp_path / "s.py").read_text().replace("get_signed_url(agent_id=agent).signed_url", "agent")
    )
    found = {(f.path, f.line, f.rule_id) for f in scan_paths([tmp_path], scanner(tables), base=tmp_path).findings}
    assert found == {("s.py", 6, "EL-SIGNED-URL"), ("s.py", 11, "EL-EVT-PING")}


def test_endpoints_named_in_prose_are_not_requests(tables, tmp_path: Path) -> None:
    (tmp_path / "doc.py").write_text(
        '"""Reads GET /v1/convai/agents and the signed URL."""\n'
        'def f():\n    raise ValueError("expected a GET /v1/convai/agents/{id} response")\n'
        'AGENTS = "/v1/convai/agents"\n'
    )
    found = [(f.line, f.rule_id) for f in scan_paths([tmp_path], scanner(tables), base=tmp_path).findings]
    assert found == [(4, "EL-REST-AGENTS")]


def test_voice_and_agent_ids_say_what_they_became(tables) -> None:
    known = Known(agents={"agent_5501k0abcdefghij0123456789ab": "65f0aa"}, voices={"21m00Tcm4TlvDq8ikWAM": "rachel"})
    result = scan_paths([FIXTURES / "Assistant.tsx"], scanner(tables, known), base=FIXTURES)
    by_rule = {f.rule_id: f for f in result.findings}
    assert "Smallest agent 65f0aa" in by_rule["EL-AGENT-ID"].replacement
    assert not by_rule["EL-AGENT-ID"].fixable and by_rule["EL-AGENT-ID"].kept  # inside a kept SDK call
    assert by_rule["EL-VOICE-ID"].replacement.startswith("rachel")


def test_walk_skips_vendored_ignored_and_virtualenv_files(tables, tmp_path: Path) -> None:
    line = 'const u = "wss://api.elevenlabs.io/v1/convai/conversation";\n'
    for rel in (
        "src/app.js",
        "node_modules/pkg/index.js",
        "dist/bundle.js",
        "venv1/lib/x.py",
        "generated/out.js",
        "notes.txt",
    ):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(line if rel.endswith(".js") else 'U = "wss://api.elevenlabs.io/v1/convai/conversation"\n')
    (tmp_path / "venv1" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / ".gitignore").write_text("generated/\n")
    result = scan_paths([tmp_path], scanner(tables), base=tmp_path)
    assert sorted({f.path for f in result.findings}) == ["src/app.js"] and result.files_scanned == 1


def test_a_nested_gitignore_applies_below_its_folder_only(tmp_path: Path) -> None:
    for rel in ("a/x.js", "a/deep/y.js", "a/keep.js", "b/x.js", "b/deep/y.js", "z.js"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("1;\n")
    (tmp_path / "a" / ".gitignore").write_text("x.js\ndeep/\n!keep.js\n")
    (tmp_path / "b" / ".gitignore").write_text("y.js\n")
    found = sorted(p.relative_to(tmp_path).as_posix() for p in iter_files([tmp_path]))
    assert found == ["a/keep.js", "b/x.js", "z.js"]


def test_non_utf8_files_are_scanned_but_never_rewritten(tables, tmp_path: Path) -> None:
    (tmp_path / "latin.mjs").write_bytes(
        (FIXTURES / "node" / "agent-socket.mjs").read_text().replace("Text chat", "Café chat").encode("latin-1")
    )
    s = scanner(tables, KNOWN)
    result = scan_paths([tmp_path], s, base=tmp_path)
    assert result.findings and not any(f.fixable for f in result.findings)
    plan = plan_fixes(result.texts, result.findings, s, annotate=True)
    assert plan.files == [] and plan.skipped == ["latin.mjs: not UTF-8; left as it is"]


def test_node_ws_client_is_ported_whole(tables, tmp_path: Path) -> None:
    copy(["node/agent-socket.mjs"], tmp_path)
    file_fix, result = port(tables, tmp_path)
    new = file_fix.new_text
    assert 'const AGENT_URL = "wss://api.smallest.ai/atoms/v1/agent/connect?agent_id=a1f0aa";' in new
    assert 'headers: { Authorization: "Bearer " + process.env.SMALLEST_API_KEY },' in new
    assert 'if (event.type === "session.created") {' in new
    assert '} else if (event.type === "transcript" && ["agent", "assistant"].includes(event.role)) {' in new
    assert "onReply(event.text);" in new and '{ type: "input_text.send", text }' in new
    assert "elevenlabs.io" not in new and "xi-api-key" not in new and "agent_response" not in new
    assert syntax_errors(new, "javascript") == 0
    assert sorted({f.rule_id for f in file_fix.fixed}) == [
        "EL-AGENT-ID",
        "EL-API-KEY-ENV",
        "EL-EVT-AGENT-RESPONSE",
        "EL-EVT-INITIATION-METADATA",
        "EL-MSG-USER-MESSAGE",
        "EL-WS-URL",
        "EL-XI-API-KEY",
    ]
    left = {f.rule_id for f in result.findings if not f.fixable}
    assert left == {"EL-EVT-PING", "EL-MSG-PONG"}  # the ping handler never runs on Atoms; the user deletes it


def test_a_bridge_ports_the_agent_socket_and_leaves_the_other_protocol_alone(tables, tmp_path: Path) -> None:
    copy(["node/contact-center-bridge.mjs"], tmp_path)
    file_fix, result = port(tables, tmp_path, Known(agents={"agent_7701k2qwertyuiopasdfghjk3": "g7f0aa"}))
    new = file_fix.new_text
    assert "wss://api.smallest.ai/atoms/v1/agent/connect?agent_id=g7f0aa" in new
    assert (
        'if (frame.type === "ping") {' in new and '{ type: "pong", seq: frame.seq }' in new
    )  # the caller's protocol, untouched
    assert (
        'agent.send(JSON.stringify({ type: "input_text.send", text: frame.text }));' in new
    )  # sent to the agent from the caller side
    assert 'caller.send(JSON.stringify({ type: "reply", text: event.text }));' in new
    assert "elevenlabs.io" not in new and "agent_response" not in new and syntax_errors(new, "javascript") == 0
    assert not any(f.rule_id in ("EL-EVT-PING", "EL-MSG-PONG") for f in result.findings)


def test_a_relay_renames_only_what_goes_to_and_comes_from_the_agent(tables, tmp_path: Path) -> None:
    copy(["node/room-relay.mjs"], tmp_path)
    file_fix, _ = port(tables, tmp_path, Known(agents={"agent_7701k2qwertyuiopasdfghjk3": "g7f0aa"}))
    new = file_fix.new_text
    assert 'if (msg.type === "user_message") {' in new  # compared in the room's handler: the room's protocol
    assert 'agent.send(JSON.stringify({ type: "input_text.send", text: msg.text }));' in new
    assert 'room.send(JSON.stringify({ type: "user_message", text: msg.text, from: process.env.BOT }));' in new
    assert syntax_errors(new, "javascript") == 0


@pytest.mark.parametrize(
    "name, text",
    [
        ("page.html", '<body>\n  <elevenlabs-convai agent-id="Ab12Cd34Ef56Gh78Ij90"></elevenlabs-convai>\n</body>\n'),
        (
            "Help.tsx",
            "export const Help = () => (\n"
            '  <elevenlabs-convai agent-id="Ab12Cd34Ef56Gh78Ij90"></elevenlabs-convai>\n);\n',
        ),
    ],
)
def test_a_legacy_agent_id_in_a_widget_is_found_and_kept(tables, tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    s = scanner(tables, Known(agents={"Ab12Cd34Ef56Gh78Ij90": "h8f0aa"}))
    result = scan_paths([tmp_path], s, base=tmp_path)
    [agent_id] = [f for f in result.findings if f.rule_id == "EL-AGENT-ID"]
    assert agent_id.line == 2 and not agent_id.fixable and "replace the widget" in agent_id.steps
    assert plan_fixes(result.texts, result.findings, s, annotate=False).files == []


def test_a_python_bridge_renames_only_the_agent_side(tables, tmp_path: Path) -> None:
    copy(["python/browser_bridge.py"], tmp_path)
    file_fix, _ = port(tables, tmp_path, Known(agents={"agent_7701k2qwertyuiopasdfghjk3": "g7f0aa"}))
    new = file_fix.new_text
    assert 'if frame["type"] == "user_message":' in new  # received from the browser: the browser's protocol
    assert 'await agent.send(json.dumps({"type": "input_text.send", "text": frame["text"]}))' in new
    assert 'await browser.send_json({"type": "agent_response", "text": event["text"]})' in new
    assert syntax_errors(new, "python") == 0


def test_a_socket_whose_host_comes_from_the_environment_is_found_but_not_rewritten(tables, tmp_path: Path) -> None:
    copy(["python/relay_from_env.py"], tmp_path)
    s = scanner(tables, KNOWN)
    result = scan_paths([tmp_path], s, base=tmp_path)
    assert {f.rule_id for f in result.findings} >= {"EL-WS-URL", "EL-XI-API-KEY", "EL-EVT-AGENT-RESPONSE"}
    assert not any(f.fixable for f in result.findings)
    assert all(
        "point it at wss://api.smallest.ai/atoms/v1/agent/connect" in f.steps
        for f in result.findings
        if f.rule_id == "EL-WS-URL"
    )
    assert plan_fixes(result.texts, result.findings, s, annotate=False).files == []


def test_python_websockets_client_is_ported_whole(tables, tmp_path: Path) -> None:
    copy(["python/ws_chat.py"], tmp_path)
    file_fix, result = port(tables, tmp_path)
    new = file_fix.new_text
    assert (
        'AGENT_ID = "b2f0bb"' in new
        and 'URL = f"wss://api.smallest.ai/atoms/v1/agent/connect?agent_id={AGENT_ID}"' in new
    )
    assert 'additional_headers={"Authorization": "Bearer " + os.environ["SMALLEST_API_KEY"]}' in new
    assert 'elif message["type"] == "transcript" and message.get("role") == "user":' in new
    assert 'print("you:", message["text"])' in new
    assert 'elif message["type"] == "transcript" and message.get("role") in ("agent", "assistant"):' in new
    compile(new, "ws_chat.py", "exec")


def test_python_client_without_headers_gets_them_and_the_os_import(tables, tmp_path: Path) -> None:
    (tmp_path / "c.py").write_text(
        "import json\nfrom websockets.sync.client import connect\n\n\ndef run():\n"
        '    with connect("wss://api.elevenlabs.io/v1/convai/conversation'
        '?agent_id=agent_4401k8poiuytrewqlkjhgfdsa2b") as ws:\n'
        '        ws.send(json.dumps({"type": "user_message", "text": "hi"}))\n'
    )
    file_fix, _ = port(tables, tmp_path)
    assert file_fix.new_text.startswith("import os\nimport json\n")
    assert (
        'connect("wss://api.smallest.ai/atoms/v1/agent/connect?agent_id=b2f0bb", '
        'additional_headers={"Authorization": "Bearer " + os.environ["SMALLEST_API_KEY"]})'
    ) in file_fix.new_text
    compile(file_fix.new_text, "c.py", "exec")


def test_node_global_websocket_gets_the_token_query(tables, tmp_path: Path) -> None:
    (tmp_path / "n.js").write_text(
        'const { log } = require("./log");\n'
        'const ws = new WebSocket("wss://api.elevenlabs.io/v1/convai/conversation?agent_id=agent_3301k7mnbvcxzlkjhgfdsaqwer9");\n'
        'ws.onmessage = (e) => { if (JSON.parse(e.data).type === "interruption") log("stop"); };\n'
    )
    file_fix, _ = port(tables, tmp_path)
    assert (
        "new WebSocket(`wss://api.smallest.ai/atoms/v1/agent/connect?agent_id=a1f0aa&token=${process.env.SMALLEST_API_KEY}`)"
        in file_fix.new_text
    )


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("browser/raw-socket.js", "a browser cannot hold the Smallest API key"),
        ("node/audio-bridge.js", "signed URL fetched at run time"),
        ("client.py", 'the agent id comes from os.environ["ELEVENLABS_AGENT_ID"] at run time'),
        ("voice_client.js", "audio changes format"),
        ("python/ping_watch.py", "only clients of the websockets package are ported"),
    ],
)
def test_a_unit_that_cannot_port_whole_is_left_alone_with_steps(tables, tmp_path: Path, name: str, why: str) -> None:
    copy([name], tmp_path)
    s = scanner(tables, KNOWN)
    result = scan_paths([tmp_path], s, base=tmp_path)
    assert not any(f.fixable for f in result.findings)
    assert plan_fixes(result.texts, result.findings, s, annotate=False).files == []
    url = next(f for f in result.findings if f.rule_id in ("EL-WS-URL", "EL-SIGNED-URL"))
    assert why in url.steps and why in url.message


def test_shared_headers_block_the_port(tables, tmp_path: Path) -> None:
    (tmp_path / "s.py").write_text(
        'import os\nimport requests\nimport websockets\n\nHEADERS = {"xi-api-key": os.environ["ELEVENLABS_API_KEY"]}\n'
        'URL = "wss://api.elevenlabs.io/v1/convai/conversation?agent_id=agent_4401k8poiuytrewqlkjhgfdsa2b"\n\n\n'
        'async def talk():\n    requests.get("https://api.elevenlabs.io/v1/convai/agents", headers=HEADERS)\n'
        "    async with websockets.connect(URL, additional_headers=HEADERS) as ws:\n        await ws.recv()\n"
    )
    s = scanner(tables, KNOWN)
    result = scan_paths([tmp_path], s, base=tmp_path)
    assert plan_fixes(result.texts, result.findings, s, annotate=False).files == []
    assert "defined outside the WebSocket call" in next(f for f in result.findings if f.rule_id == "EL-WS-URL").steps


@pytest.mark.parametrize(
    "request_",
    [
        "export const history = (id) => fetch(`https://api.elevenlabs.io/v1/convai/conversations/${id}`);\n",
        # a signed URL minted beside a socket that connects directly: the port would leave the agent's sessions on
        # both vendors
        'export const mint = () => fetch("https://api.elevenlabs.io/v1/convai/conversation/get-signed-url?agent_id=x", '
        '{ headers: { "xi-api-key": process.env.ELEVENLABS_API_KEY } });\n',
    ],
)
def test_a_socket_beside_agent_rest_calls_is_not_ported(tables, tmp_path: Path, request_: str) -> None:
    text = (FIXTURES / "node" / "agent-socket.mjs").read_text()
    (tmp_path / "a.mjs").write_text(text + request_)
    s = scanner(tables, KNOWN)
    result = scan_paths([tmp_path], s, base=tmp_path)
    assert plan_fixes(result.texts, result.findings, s, annotate=False).files == []
    assert (
        "also calls the ElevenLabs agent API (line 31)"
        in next(f for f in result.findings if f.rule_id == "EL-WS-URL").steps
    )


def test_unknown_agent_blocks_the_port(tables, tmp_path: Path) -> None:
    copy(["node/agent-socket.mjs"], tmp_path)
    s = scanner(tables)  # empty state file
    result = scan_paths([tmp_path], s, base=tmp_path)
    assert plan_fixes(result.texts, result.findings, s, annotate=False).files == []
    assert (
        "agent agent_3301k7mnbvcxzlkjhgfdsaqwer9 is not in the state file"
        in next(f for f in result.findings if f.rule_id == "EL-XI-API-KEY").steps
    )


@pytest.mark.parametrize(
    "name",
    [
        "python/agents_admin.py",
        "next/app/api/get-signed-url/route.ts",
        "web/widget.html",
        "Call.vue",
        "client/session.ts",
        "python/narrate.py",
        "node/tts.js",
    ],
)
def test_never_a_header_alone_nor_an_id_in_a_kept_widget_or_sdk_call(tables, tmp_path: Path, name: str) -> None:
    copy([name], tmp_path)
    known = Known(agents={**KNOWN.agents, "agent_7101k5zvyjhmfg983brhmhkd98n6": "g7f0aa"})
    s = scanner(tables, known)
    result = scan_paths([tmp_path], s, base=tmp_path)
    assert not any(f.fixable for f in result.findings)
    assert plan_fixes(result.texts, result.findings, s, annotate=False).files == []
    for f in result.findings:
        if f.rule_id == "EL-XI-API-KEY":
            assert "still goes to ElevenLabs" in f.steps


def test_annotations_use_the_comment_syntax_of_the_spot(tables, tmp_path: Path) -> None:
    copy(["react/VoiceAgent.tsx", "web/widget.html", "python/sdk_agent.py"], tmp_path)
    (tmp_path / "t.js").write_text(
        'const url = `first line\n${"wss://api.elevenlabs.io/v1/convai/conversation"}`;\n'
        'import x from "@elevenlabs/react";\n'
    )
    s = scanner(tables)
    result = scan_paths([tmp_path], s, base=tmp_path)
    plan = {f.path: f for f in plan_fixes(result.texts, result.findings, s, annotate=True).files}
    tsx = plan["react/VoiceAgent.tsx"].new_text.splitlines()
    assert (
        tsx[tsx.index("      <p>Status: {conversation.status}</p>") - 1]
        .strip()
        .startswith("{/* TODO(atoms-migrate) EL-JS-CALLBACKS")
    )
    assert (
        tsx[tsx.index("  const conversation = useConversation({") - 1]
        .strip()
        .startswith("// TODO(atoms-migrate) EL-JS-USE-CONVERSATION")
    )
    assert syntax_errors("\n".join(tsx), "tsx") == 0
    html = plan["web/widget.html"].new_text
    assert "<!-- TODO(atoms-migrate) EL-WIDGET, EL-AGENT-ID:" in html and syntax_errors(html, "html") == 0
    js = plan["t.js"].new_text.splitlines()
    assert js[1].startswith("${") and "TODO(atoms-migrate)" not in js[0] + js[1]  # nothing inside the template literal
    assert js[2].startswith("// TODO(atoms-migrate) EL-PKG-REACT")
    py = plan["python/sdk_agent.py"].new_text
    assert "    # TODO(atoms-migrate) EL-PY-SDK" in py and "(atoms-migrate) EL-OTHER-API" not in py
    compile(py, "sdk_agent.py", "exec")


def test_a_port_that_would_not_parse_is_not_written(tables, tmp_path: Path) -> None:
    copy(["python/ws_chat.py"], tmp_path)
    s = scanner(tables, KNOWN)
    result = scan_paths([tmp_path], s, base=tmp_path)
    source: SourceText = result.texts["python/ws_chat.py"]
    port: UnitPort = source.port  # type: ignore[assignment]
    start = source.text.index("async with")
    port.edits = [*port.edits, (start, start + 5, "async wit(")]
    plan = plan_fixes(result.texts, result.findings, s, annotate=False)
    assert plan.files == [] and plan.skipped == ["python/ws_chat.py: the port would not parse; left as it is"]


def test_sarif_is_2_1_0_with_stable_fingerprints(tables, tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "voice_client.js", tmp_path / "a.js")
    s = scanner(tables)
    first = sarif(scan_paths([tmp_path], s, base=tmp_path).findings, tables.scan.rules)
    (tmp_path / "a.js").write_text("// a new first line\n" + (tmp_path / "a.js").read_text())
    second = sarif(scan_paths([tmp_path], s, base=tmp_path).findings, tables.scan.rules)
    run = first["runs"][0]
    assert first["version"] == "2.1.0" and {r["id"] for r in run["tool"]["driver"]["rules"]} == {
        r.id for r in tables.scan.rules
    }
    assert all(r["ruleId"] in {x["id"] for x in run["tool"]["driver"]["rules"]} for r in run["results"])
    prints = lambda doc: [r["partialFingerprints"]["atomsMigrateLineHash/v1"] for r in doc["runs"][0]["results"]]  # noqa: E731
    assert prints(first) == prints(second) and len(set(prints(first))) == len(prints(first))
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in second["runs"][0]["results"]][0] == 3


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (("seed: A.1\n", "seed: B.1\n"), "rules[0].seed"),
        (
            ("      header: [xi-api-key]\n", "      header: [xi-api-key]\n      event_type: [ping]\n"),
            "'ping' already belongs to EL-XI-API-KEY",
        ),
        (
            ("    fix: {unit: raw-websocket}\n", "    fix: {unit: raw-websocket}\n    matchers: {}\n"),
            "Extra inputs are not permitted",
        ),
        (("      literal: ['/v1/convai/agents\\b']\n", "      literal: ['/v1/convai/(agents']\n"), "not a valid regex"),
    ],
)
def test_mappings_check_validates_the_scan_rules(tmp_path: Path, edit: tuple[str, str], problem: str) -> None:
    text = (Path(__file__).parent.parent / "mappings" / "scan.yaml").read_text()
    assert edit[0] in text
    (tmp_path / "scan.yaml").write_text(text.replace(edit[0], edit[1], 1))
    tables, problems = check_tables(tmp_path)
    assert tables is None and any(problem in p for p in problems), problems


@pytest.mark.e2e
def test_cli_json_fail_on_and_fix_modes(tmp_path: Path) -> None:
    copy(["python/ws_chat.py", "python/narrate.py", "unrelated.js", "web/static/vendor/convai-bundle.js"], tmp_path)
    state = tmp_path / ".atoms-migrate" / "state.json"
    state.parent.mkdir()
    state.write_text(
        json.dumps(
            {"format_version": 1, "agents": {"agent_4401k8poiuytrewqlkjhgfdsa2b": {"smallest_agent_id": "b2f0bb"}}}
        )
    )
    listed = run_installed("scan", "--json", "--sarif", "out.sarif", cwd=tmp_path)
    doc = json.loads(listed.stdout)
    assert listed.returncode == 0 and doc["format_version"] == "1"
    assert doc["summary"] == {"findings": 15, "mechanical": 11, "redesign": 3, "info": 1}
    assert doc["skipped_generated"] == ["web/static/vendor/convai-bundle.js"]
    assert "skipped 1 generated or minified file(s)" in listed.stderr
    assert {"path", "line", "column", "rule_id", "kind", "message", "replacement", "fixable", "seed", "steps"} <= set(
        doc["findings"][0]
    )
    assert json.loads((tmp_path / "out.sarif").read_text())["version"] == "2.1.0"
    assert run_installed("scan", "--fail-on", "redesign", cwd=tmp_path).returncode == 3
    assert (
        run_installed("scan", "python/narrate.py", "--fail-on", "mechanical", cwd=tmp_path).returncode == 0
    )  # info never gates
    before = (tmp_path / "python" / "ws_chat.py").read_text()
    dry = run_installed("scan", "--fix", "--dry-run", cwd=tmp_path)
    assert (
        '+URL = f"wss://api.smallest.ai/atoms/v1/agent/connect' in dry.stdout
        and (tmp_path / "python" / "ws_chat.py").read_text() == before
    )
    refused = run_installed("scan", "--fix", cwd=tmp_path)  # no terminal, no --yes
    assert refused.returncode == 1 and (tmp_path / "python" / "ws_chat.py").read_text() == before
    written = run_installed("scan", "--fix", "--yes", cwd=tmp_path)
    assert written.returncode == 0 and "agent/connect" in (tmp_path / "python" / "ws_chat.py").read_text()
    assert (tmp_path / "python" / "narrate.py").read_text() == (FIXTURES / "python" / "narrate.py").read_text()
    again = run_installed("scan", "--fix", "--yes", cwd=tmp_path)
    assert "Nothing to fix" in again.stderr
