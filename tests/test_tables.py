"""The mapping tables: the shipped set is valid; broken sets are named by file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from atoms_migrate.cli import app
from atoms_migrate.mapping.tables import TABLE_FILES, builtin_dir, check_tables

runner = CliRunner()


def test_shipped_tables_are_valid(tables) -> None:
    assert len(tables.voices.voices) >= 50
    assert tables.voices.lookup("21m00Tcm4TlvDq8ikWAM").target == "rachel"
    assert set(tables.languages.atoms_codes) == {"en", "hi", "mr", "gu", "ta", "es", "north_indic", "bn", "or"}
    assert all(v.rationale for v in tables.voices.voices)


def _copy_tables(tmp_path: Path) -> Path:
    for name in TABLE_FILES:
        shutil.copy(builtin_dir() / name, tmp_path / name)
    return tmp_path


def test_unknown_key_is_reported_with_file_and_line(tmp_path: Path) -> None:
    d = _copy_tables(tmp_path)
    text = (d / "llms.yaml").read_text().replace("gated: [", "colour: blue\ngated: [")
    (d / "llms.yaml").write_text(text)
    _, problems = check_tables(d)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith("colour"))
    assert any(p.startswith(f"{d / 'llms.yaml'}:{line}: colour: Extra inputs are not permitted") for p in problems), (
        problems
    )


def test_cross_table_errors(tmp_path: Path) -> None:
    d = _copy_tables(tmp_path)
    (d / "concepts.yaml").write_text(
        (d / "concepts.yaml").read_text().replace("transform: prompt", "transform: no_such")
    )
    (d / "languages.yaml").write_text((d / "languages.yaml").read_text().replace("  es: es", "  es: fr"))
    _, problems = check_tables(d)
    assert any("unknown transform 'no_such'" in p for p in problems)
    assert any("codes.es: 'fr' is not an Atoms language code" in p for p in problems)


def test_override_dir_replaces_only_the_files_it_has(tmp_path: Path) -> None:
    (tmp_path / "llms.yaml").write_text(
        "targets: [electron, gpt-4o]\nrules:\n"
        "  - {match: '*', target: gpt-4o, status: lossy, note: everything to gpt-4o}\n"
    )
    tables, problems = check_tables(tmp_path)
    assert problems == []
    assert tables.llms.lookup("claude-3-haiku").target == "gpt-4o"
    assert tables.sources["llms.yaml"] == str(tmp_path / "llms.yaml")
    assert tables.sources["voices.yaml"] == str(builtin_dir() / "voices.yaml")


def test_mappings_check_command(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["mappings", "check"])
    assert ok.exit_code == 0 and ok.stdout.startswith("OK: ")
    (tmp_path / "voices.yaml").write_text("model: x\nvoices: not-a-list\n")
    bad = runner.invoke(app, ["mappings", "check", str(tmp_path)])
    assert bad.exit_code == 1
    assert f"{tmp_path / 'voices.yaml'}:1: fallback: Field required" in bad.stderr
    assert f"{tmp_path / 'voices.yaml'}:2: voices: Input should be a valid list" in bad.stderr
    assert "Traceback" not in bad.stderr
