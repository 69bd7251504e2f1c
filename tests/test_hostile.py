"""Hostile and broken inputs fail fast with one clean line and a documented exit code (1), never a traceback.

Each case is what a careless or hostile user could hand the CLI: nesting beyond any real
config, YAML alias bombs, giant integers, lone surrogates, FIFOs and devices, ids that are
not ids, mapping tables that are not UTF-8, damaged saved plans.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from atoms_migrate import bounds
from atoms_migrate.cli import app
from conftest import EXAMPLE

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


def _example() -> dict:
    raw = json.loads(EXAMPLE.read_text())
    raw.pop("agent_id", None)
    return raw


def _clean_failure(result, *needles: str) -> None:
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    assert result.stderr.startswith("error: "), result.stderr
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


BOMB = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


@pytest.mark.parametrize("name, text, needle", [
    ("deep.json", "[" * 10_000 + "]" * 10_000, "nested deeper than"),
    ("deep.yaml", "a: " + "[" * 5_000 + "]" * 5_000 + "\n", "nested deeper than"),
    ("deep-block.yaml", "".join("  " * i + "- \n" for i in range(150)), "nested deeper than"),
    ("bomb.yaml", BOMB, "alias bomb"),
    ("self.yaml", "a: &a [1, *a]\n", "contains itself"),
    ("bigint.json", '{"n": ' + "9" * 5_000 + "}", "not a usable JSON value"),
    ("bigint.yaml", "n: " + "9" * 5_000 + "\n", "not a usable YAML value"),
    ("surrogate.json", '{"name": "x\\ud800y", "conversation_config": {}}', "lone surrogate"),
])
def test_unbounded_or_invalid_source_values_are_refused_fast(tmp_path, name, text, needle) -> None:
    path = tmp_path / name
    path.write_text(text)
    started = time.monotonic()
    result = run("agent", str(path), "--dry-run")
    assert time.monotonic() - started < 10
    _clean_failure(result, needle, str(path))


def test_a_lone_surrogate_is_named_by_its_path(tmp_path) -> None:
    raw = _example()
    raw["conversation_config"]["agent"]["first_message"] = "Hi \ud83d there"
    path = tmp_path / "a.json"
    path.write_text(json.dumps(raw))  # json.dumps escapes it as \\ud83d: valid JSON, invalid Unicode
    _clean_failure(run("agent", str(path), "--dry-run"), "conversation_config.agent.first_message")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_is_refused_before_it_is_opened(tmp_path) -> None:
    fifo = tmp_path / "agent.json"
    os.mkfifo(fifo)
    started = time.monotonic()
    result = run("agent", str(fifo), "--dry-run")  # opening a FIFO with no writer would block forever
    assert time.monotonic() - started < 10
    _clean_failure(result, "is a FIFO, not a regular file")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_link_to_dev_zero_is_refused(tmp_path) -> None:
    link = tmp_path / "agent.json"
    link.symlink_to("/dev/zero")
    _clean_failure(run("agent", str(link), "--dry-run"), "is a character device")


def test_an_oversized_source_is_refused_before_reading(tmp_path, monkeypatch) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps(_example()) + " " * 5_000)
    monkeypatch.setattr(bounds, "MAX_SOURCE_BYTES", 1_000)
    monkeypatch.setattr(bounds.check_file, "__defaults__", (1_000,))
    _clean_failure(run("agent", str(path), "--dry-run"), "the limit is 1,000 (refused before reading)")


@pytest.mark.parametrize("agent_id, needle", [("a" * 5_000, "5,000 characters"), ("../../etc/x", "characters ids never have")])
def test_an_agent_id_that_is_not_an_id_is_refused(tmp_path, agent_id, needle) -> None:
    raw = _example()
    raw["agent_id"] = agent_id
    path = tmp_path / "a.json"
    path.write_text(json.dumps(raw))
    result = run("agent", str(path), "--dry-run")
    _clean_failure(result, needle)
    assert agent_id not in result.stderr or len(agent_id) < 20


def test_a_mapping_table_that_is_not_utf8_is_named(tmp_path) -> None:
    tables = tmp_path / "tables"
    tables.mkdir()
    (tables / "voices.yaml").write_bytes(b"voices:\n  - name: \xff\xfe caf\xe9\n")
    result = run("agent", str(EXAMPLE), "--dry-run", "--mappings", str(tables))
    _clean_failure(result, "voices.yaml: not UTF-8 text")


def _saved_plan(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.json").write_text(json.dumps(_example()))
    assert run("all", ".", "--dry-run", "--out", "plan.json").exit_code == 0
    return tmp_path / "plan.json"


@pytest.mark.parametrize("damage, needle", [
    (lambda a: a.pop("source"), "agents[0].source is missing"),
    (lambda a: a["source"].pop("hash"), "agents[0].source.hash is missing"),
    (lambda a: a.pop("plan"), "agents[0].plan is missing"),
    (lambda a: a["source"].__setitem__("kind", "url"), "agents[0].source.kind must be id or file"),
])
def test_a_saved_plan_with_missing_keys_is_refused(tmp_path, monkeypatch, damage, needle) -> None:
    plan = _saved_plan(tmp_path, monkeypatch)
    doc = json.loads(plan.read_text())
    damage(doc["agents"][0])
    plan.write_text(json.dumps(doc))
    _clean_failure(run("apply", "plan.json", "--yes", env={"SMALLEST_API_KEY": "sk_test"}), needle)


def test_a_saved_plan_reading_a_source_outside_the_project_is_refused(tmp_path, monkeypatch) -> None:
    plan = _saved_plan(tmp_path, monkeypatch)
    doc = json.loads(plan.read_text())
    doc["agents"][0]["source"]["ref"] = "../../../etc/passwd"
    plan.write_text(json.dumps(doc))
    _clean_failure(run("apply", "plan.json", "--yes", env={"SMALLEST_API_KEY": "sk_test"}), "outside the project")


def test_scan_skips_devices_fifos_and_links_out_of_the_tree(tmp_path) -> None:
    from atoms_migrate.scan import iter_files

    tree = tmp_path / "src"
    tree.mkdir()
    (tree / "ok.js").write_text("const x = 1;\n")
    (tree / "inside.js").symlink_to(tree / "ok.js")
    outside = tmp_path / "secret.js"
    outside.write_text("const key = 'x';\n")
    (tree / "outside.js").symlink_to(outside)
    if Path("/dev/zero").exists():
        (tree / "zero.js").symlink_to("/dev/zero")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tree / "pipe.js")
    assert sorted(p.name for p in iter_files([tree])) == ["inside.js", "ok.js"]
