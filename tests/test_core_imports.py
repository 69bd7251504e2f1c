"""The pure core (mapping, source, plan and the top-level paths/model) imports at module level only.

A deferred import there hid a cycle once (engine <-> transforms <-> tables); the import-linter
contracts see deferred imports too, but a function-level import would still hide the cycle
from a reader. Start-up time is not a reason in the core: it is imported by every command.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "atoms_migrate"
CORE = sorted(
    [p for d in ("mapping", "source", "plan") for p in (PACKAGE / d).rglob("*.py")]
    + [PACKAGE / "paths.py", PACKAGE / "model.py"]
)


def _deferred_imports(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    found.append(f"{path.relative_to(root)}:{inner.lineno}: {ast.unparse(inner)}")
    return found


def test_the_core_is_found() -> None:
    assert len(CORE) > 20 and all(p.is_file() for p in CORE)


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_inside_a_function(path: Path) -> None:
    assert _deferred_imports(path) == []


def test_the_check_finds_a_deferred_import(tmp_path: Path) -> None:
    sample = tmp_path / "atoms_migrate" / "sample.py"
    sample.parent.mkdir()
    sample.write_text("import json\n\n\ndef f():\n    from atoms_migrate import paths\n    return paths\n")
    assert _deferred_imports(sample, tmp_path) == ["atoms_migrate/sample.py:5: from atoms_migrate import paths"]
