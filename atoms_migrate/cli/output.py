"""What the CLI writes and asks: consoles, output files (reports, saved plans), the apply result, confirmations.

The human report goes to stdout (``out``), progress, prompts and errors to stderr (``err``); with ``--json``
stdout holds only the JSON document.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from atoms_migrate.errors import ConfigError, MigrationError
from atoms_migrate.fileio import write_text_atomic
from atoms_migrate.settings import Settings

if TYPE_CHECKING:
    from atoms_migrate.apply.applier import ApplyResult
    from atoms_migrate.apply.run import Planned, RunConfig
    from atoms_migrate.model import Plan


def err_console(no_color: bool = False, soft_wrap: bool = True) -> Console:
    return Console(stderr=True, highlight=False, no_color=no_color or None, soft_wrap=soft_wrap)


def out_console(no_color: bool = False) -> Console:
    return Console(highlight=False, no_color=no_color or None, soft_wrap=True)


def print_json(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def write_file(path: Path, text: str, mode: str = "w") -> None:
    """Write a report atomically (0644: reports are made to be shared), or with mode "a" append to one (the
    GitHub job summary, which other steps write too); failure is one clear error."""
    try:
        if mode == "a":
            with open(path, mode, encoding="utf-8") as fh:
                fh.write(text)
        else:
            write_text_atomic(path, text, mode=0o644)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from exc


def write_reports(
    plan: Plan,
    report: Path | None,
    results: dict[str, str] | None = None,
    extra: str = "",
    *,
    settings: Settings,
) -> None:
    """The markdown report to --report, and appended to $GITHUB_STEP_SUMMARY when set."""
    from atoms_migrate.report.markdown import plan_markdown

    summary_file = settings.step_summary
    if not report and not summary_file:
        return
    markdown = plan_markdown(plan, results=results) + extra
    if report:
        write_file(report, markdown)
    if summary_file:
        write_file(summary_file, markdown, "a")


def ask(question: str, yes: bool) -> bool:
    """May we write? True with --yes; else asked on the terminal (no terminal: refused with a hint)."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise ConfigError(
            "refusing to write to Smallest Atoms without confirmation: there is no terminal to ask on",
            "Pass --yes to apply non-interactively (CI).",
        )
    return typer.confirm(question, default=False, err=True)


def confirm(question: str, yes: bool) -> None:
    """``ask``, and a declined question is a MigrationError (exit 1, nothing written)."""
    if not ask(question, yes):
        raise MigrationError("cancelled; nothing was written")


def print_result(result: ApplyResult, source: str, out: Console) -> None:
    """One agent's apply: where it went, whether the read-back matched, and how to promote a staged one."""
    from atoms_migrate.report.values import short

    where = f"branch {result.branch_name!r}" if result.branch_name else f"version {result.revision_id}"
    status = "live" if result.live else "staged, not live"
    out.print(f"Applied to Atoms agent {result.agent_id} ({where}, {status}).", markup=False, highlight=False)
    if result.differences:
        out.print(
            f"Verification FAILED: {len(result.differences)} field(s) read back differ from the plan:",
            markup=False,
            highlight=False,
        )
        for path, expected, actual in result.differences:
            out.print(
                f"    {path}: planned {short(expected, 40)}, live {short(actual, 40)}", markup=False, highlight=False
            )
    else:
        out.print("Verified: the config read back from Atoms matches the plan.", markup=False, highlight=False)
    if not result.live:
        out.print(f"Promote it with: atoms-migrate promote {source}", markup=False, highlight=False)


def save_plan(path: Path, entries: list[tuple[dict[str, str], Planned]], config: RunConfig) -> None:
    """``--out``: the plan with what it was made against, for ``atoms-migrate apply``."""
    from atoms_migrate.apply import saved as savedplan
    from atoms_migrate.apply.state import tables_hash

    settings = savedplan.SavedSettings.from_config(config)
    savedplan.write(path, savedplan.saved_plan(entries, tables_hash(config.tables), settings))
