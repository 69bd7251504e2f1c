"""The client-code scanner: rules per language and style, negatives, skipping, fixes, SARIF, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from atoms_migrate.sarif import sarif
from atoms_migrate.scan import Known, Scanner, scan_paths
from atoms_migrate.scanfix import plan_fixes
from atoms_migrate.tables import load_tables
from conftest import run_installed

FIXTURES = Path(__file__).parent / "fixtures" / "scan"

EXPECTED = {
    "voice_client.js": [(2, "EL-PKG-CLIENT"), (3, "EL-AGENT-ID"), (4, "EL-WS-URL"), (10, "EL-EVT-INITIATION-METADATA"),
                        (12, "EL-EVT-AUDIO-TYPE"), (13, "EL-EVT-AUDIO"), (13, "EL-EVT-AUDIO"), (15, "EL-EVT-INTERRUPTION"),
                        (18, "EL-EVT-PING"), (19, "EL-MSG-PONG"), (19, "EL-EVT-PING"), (21, "EL-EVT-USER-TRANSCRIPT"),
                        (22, "EL-EVT-USER-TRANSCRIPT"), (22, "EL-EVT-USER-TRANSCRIPT"), (28, "EL-MSG-USER-AUDIO")],
    "Assistant.tsx": [(1, "EL-JS-USE-CONVERSATION"), (1, "EL-PKG-REACT"), (4, "EL-JS-USE-CONVERSATION"), (5, "EL-JS-CALLBACKS"),
                      (6, "EL-JS-CALLBACKS"), (8, "EL-AGENT-ID"), (8, "EL-VOICE-ID"), (9, "EL-MSG-CONTEXTUAL-UPDATE")],
    "client.py": [(7, "EL-PY-SDK"), (8, "EL-PY-SDK"), (8, "EL-PY-AUDIO-INTERFACE"), (11, "EL-XI-API-KEY"), (11, "EL-API-KEY-ENV"),
                  (12, "EL-WS-URL"), (17, "EL-MSG-USER-MESSAGE"), (20, "EL-EVT-PING"), (21, "EL-MSG-PONG"), (21, "EL-EVT-PING"),
                  (22, "EL-EVT-AGENT-RESPONSE"), (23, "EL-EVT-AGENT-RESPONSE"), (23, "EL-EVT-AGENT-RESPONSE"),
                  (27, "EL-API-KEY-ENV"), (28, "EL-PY-AUDIO-INTERFACE")],
    "widget.html": [(4, "EL-WIDGET"), (4, "EL-AGENT-ID"), (5, "EL-WIDGET")],
    "Call.vue": [(5, "EL-PKG-CLIENT"), (7, "EL-JS-START-SESSION"), (7, "EL-AGENT-ID")],
    "unrelated.js": [],  # the words audio and ping, an unrelated ping/pong protocol
    "audio_player.py": [],
}


@pytest.fixture(scope="module")
def tables():
    return load_tables()


def scanner(tables, known: Known | None = None) -> Scanner:
    return Scanner(tables.scan, known)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_findings_per_fixture(tables, name: str) -> None:
    result = scan_paths([FIXTURES / name], scanner(tables), base=FIXTURES)
    assert sorted((f.line, f.rule_id) for f in result.findings) == sorted(EXPECTED[name])


def test_voice_and_agent_ids_say_what_they_became(tables) -> None:
    known = Known(agents={"agent_5501k0abcdefghij0123456789ab": "65f0aa"}, voices={"21m00Tcm4TlvDq8ikWAM": "rachel"})
    result = scan_paths([FIXTURES / "Assistant.tsx"], scanner(tables, known), base=FIXTURES)
    by_rule = {f.rule_id: f for f in result.findings}
    assert "Smallest agent 65f0aa" in by_rule["EL-AGENT-ID"].replacement and by_rule["EL-AGENT-ID"].fixable
    assert by_rule["EL-VOICE-ID"].replacement.startswith("rachel")


def test_walk_skips_vendored_ignored_and_virtualenv_files(tables, tmp_path: Path) -> None:
    line = 'const u = "wss://api.elevenlabs.io/v1/convai/conversation";\n'
    for rel in ("src/app.js", "node_modules/pkg/index.js", "dist/bundle.js", "venv1/lib/x.py", "generated/out.js", "notes.txt"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(line if rel.endswith(".js") else 'U = "wss://api.elevenlabs.io/v1/convai/conversation"\n')
    (tmp_path / "venv1" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / ".gitignore").write_text("generated/\n")
    result = scan_paths([tmp_path], scanner(tables), base=tmp_path)
    assert sorted({f.path for f in result.findings}) == ["src/app.js"] and result.files_scanned == 1


def test_non_utf8_and_minified_files_are_scanned_but_never_rewritten(tables, tmp_path: Path) -> None:
    (tmp_path / "latin.js").write_bytes('// café\nconst u = "wss://api.elevenlabs.io/v1/convai/conversation";\n'.encode("latin-1"))
    (tmp_path / "app.min.js").write_text('var a="wss://api.elevenlabs.io/v1/convai/conversation";' + "x;" * 600)
    s = scanner(tables)
    result = scan_paths([tmp_path], s, base=tmp_path)
    assert {f.path for f in result.findings} == {"latin.js", "app.min.js"}
    assert not any(f.fixable for f in result.findings)
    plan = plan_fixes(result.texts, result.findings, s, annotate=True)
    assert plan.files == [] and len(plan.skipped) == 2


def test_fix_rewrites_exactly_and_keeps_python_parseable(tables, tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "client.py", tmp_path / "client.py")
    s = scanner(tables)
    result = scan_paths([tmp_path], s, base=tmp_path)
    [file_fix] = plan_fixes(result.texts, result.findings, s, annotate=False).files
    assert sorted(f.rule_id for f in file_fix.fixed) == ["EL-MSG-USER-MESSAGE", "EL-WS-URL", "EL-XI-API-KEY"]
    assert 'HEADERS = {"Authorization": "Bearer " + os.environ["ELEVENLABS_API_KEY"]}' in file_fix.new_text
    assert 'URL = f"wss://api.smallest.ai/atoms/v1/agent/connect?agent_id={AGENT_ID}"' in file_fix.new_text
    assert '{"type": "input_text.send", "text": text}' in file_fix.new_text
    compile(file_fix.new_text, "client.py", "exec")


def test_annotations_leave_the_python_tree_alone_and_skip_template_literals(tables, tmp_path: Path) -> None:
    (tmp_path / "t.js").write_text('const url = `first line\n${"wss://api.elevenlabs.io/v1/convai/conversation"}`;\nuseConversation();\n'
                                   'import x from "@elevenlabs/react";\n')
    shutil.copy(FIXTURES / "client.py", tmp_path / "client.py")
    s = scanner(tables)
    result = scan_paths([tmp_path], s, base=tmp_path)
    plan = {f.path: f for f in plan_fixes(result.texts, result.findings, s, annotate=True).files}
    js = plan["t.js"].new_text.splitlines()
    assert js[1].startswith("${") and "TODO(atoms-migrate)" not in js[0] + js[1]  # nothing inside the template literal
    assert any(line.startswith("// TODO(atoms-migrate) EL-JS-USE-CONVERSATION") for line in js)
    assert "# TODO(atoms-migrate) EL-EVT-PING" in plan["client.py"].new_text
    compile(plan["client.py"].new_text, "client.py", "exec")


def test_sarif_is_2_1_0_with_stable_fingerprints(tables, tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "voice_client.js", tmp_path / "a.js")
    s = scanner(tables)
    first = sarif(scan_paths([tmp_path], s, base=tmp_path).findings, tables.scan.rules)
    (tmp_path / "a.js").write_text("// a new first line\n" + (tmp_path / "a.js").read_text())
    second = sarif(scan_paths([tmp_path], s, base=tmp_path).findings, tables.scan.rules)
    run = first["runs"][0]
    assert first["version"] == "2.1.0" and {r["id"] for r in run["tool"]["driver"]["rules"]} == {r.id for r in tables.scan.rules}
    assert all(r["ruleId"] in {x["id"] for x in run["tool"]["driver"]["rules"]} for r in run["results"])
    prints = lambda doc: [r["partialFingerprints"]["atomsMigrateLineHash/v1"] for r in doc["runs"][0]["results"]]  # noqa: E731
    assert prints(first) == prints(second) and len(set(prints(first))) == len(prints(first))
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in second["runs"][0]["results"]][0] == 3


def test_cli_json_fail_on_and_fix_modes(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "client.py", tmp_path / "client.py")
    shutil.copy(FIXTURES / "unrelated.js", tmp_path / "unrelated.js")
    listed = run_installed("scan", "--json", "--sarif", "out.sarif", cwd=tmp_path)
    doc = json.loads(listed.stdout)
    assert listed.returncode == 0 and doc["format_version"] == "1" and doc["summary"]["findings"] == 15
    assert {"path", "line", "column", "rule_id", "kind", "message", "replacement"} <= set(doc["findings"][0])
    assert json.loads((tmp_path / "out.sarif").read_text())["version"] == "2.1.0"
    assert run_installed("scan", "--fail-on", "redesign", cwd=tmp_path).returncode == 3
    assert run_installed("scan", "unrelated.js", "--fail-on", "mechanical", cwd=tmp_path).returncode == 0
    before = (tmp_path / "client.py").read_text()
    dry = run_installed("scan", "--fix", "--dry-run", cwd=tmp_path)
    assert "+URL = f\"wss://api.smallest.ai/atoms/v1/agent/connect" in dry.stdout and (tmp_path / "client.py").read_text() == before
    refused = run_installed("scan", "--fix", cwd=tmp_path)  # no terminal, no --yes
    assert refused.returncode == 1 and (tmp_path / "client.py").read_text() == before
    written = run_installed("scan", "--fix", "--yes", cwd=tmp_path)
    assert written.returncode == 0 and "wss://api.smallest.ai/atoms/v1/agent/connect" in (tmp_path / "client.py").read_text()
    again = run_installed("scan", "--fix", "--yes", cwd=tmp_path)
    assert "Nothing to fix" in again.stderr
