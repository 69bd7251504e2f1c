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


ENV_READERS = {"environ", "getenv", "environb", "putenv"}


def _environment_reads(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    """Every ``os.environ`` / ``os.getenv`` / ``from os import environ`` in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ENV_READERS:
            found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [
                f"{path.relative_to(root)}:{node.lineno}: os.{a.name}" for a in node.names if a.name in ENV_READERS
            ]
    return found


# Settings (settings.py) is where the CLI reads the environment; nothing below the CLI may (the brief: clients never
# read env vars; mapping and planning are pure). The sandbox is a separate program with its own configuration.
BELOW_THE_CLI = sorted(
    p
    for p in PACKAGE.rglob("*.py")
    if p.relative_to(PACKAGE).parts[0] not in {"cli", "sandbox", "settings.py", "__main__.py"}
)


@pytest.mark.parametrize("path", BELOW_THE_CLI, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_nothing_below_the_cli_reads_the_environment(path: Path) -> None:
    assert _environment_reads(path) == []


def test_the_check_finds_an_environment_read(tmp_path: Path) -> None:
    sample = tmp_path / "atoms_migrate" / "sample.py"
    sample.parent.mkdir()
    sample.write_text("import os\nfrom os import getenv\n\nKEY = os.environ.get('K')\n")
    assert _environment_reads(sample, tmp_path) == [
        "atoms_migrate/sample.py:2: os.getenv",
        "atoms_migrate/sample.py:4: os.environ",
    ]
