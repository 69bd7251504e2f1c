"""The ``scan`` command: report (and optionally fix) ElevenLabs client code. Part of the CLI layer.

Output: a table grouped by file (default), ``--json`` (``format_version`` 1), ``--sarif FILE``.
``--fail-on mechanical`` exits 3 on any agent finding (mechanical or redesign; ``info`` lines
about other ElevenLabs APIs never gate), ``--fail-on redesign`` only on redesign findings.
``--fix`` shows a unified diff of the whole-unit ports and writes them only with ``--yes`` or
a confirmation; ``--fix --dry-run`` never writes. Generated and minified files are skipped
with one summary line on stderr.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from atoms_migrate.cli.boundary import error_boundary
from atoms_migrate.cli.options import DebugOption, MappingsOption, NoColorOption, StateOption, YesOption
from atoms_migrate.cli.output import confirm as _confirm
from atoms_migrate.cli.output import write_file as _write_file
from atoms_migrate.cli.root import app
from atoms_migrate.errors import EXIT_GATE, ConfigError

if TYPE_CHECKING:  # imported where used: `scan` is the only command that needs them (start-up time)
    from atoms_migrate.mapping.tables import MappingTables
    from atoms_migrate.scan.model import Known, ScanFinding, ScanResult
    from atoms_migrate.scan.scanner import Scanner


class ScanFailOn(StrEnum):
    mechanical = "mechanical"
    redesign = "redesign"


def _known(state: Path | None, tables: MappingTables) -> Known:
    from atoms_migrate.apply.state import DEFAULT_STATE_PATH, load_state
    from atoms_migrate.scan.scanner import known_ids

    loaded = load_state(state or DEFAULT_STATE_PATH)
    agents = {
        key: entry.smallest_agent_id for key, entry in loaded.agents.items() if not key.startswith(("file:", "label:"))
    }
    return known_ids(agents, loaded.voice_clones, tables.voices)


def _print_table(result: ScanResult, out: Console) -> None:
    from rich.table import Table

    by_file: dict[str, list[ScanFinding]] = {}
    for f in result.findings:
        by_file.setdefault(f.path, []).append(f)
    for path, findings in by_file.items():
        table = Table(title=path, title_justify="left", highlight=False, show_lines=False)
        for column in ("Line:Col", "Rule", "Kind", "Found", "Smallest Atoms"):
            table.add_column(column, overflow="fold")
        for f in findings:
            table.add_row(
                f"{f.line}:{f.column}",
                f.rule_id,
                f.kind + (" (fixable)" if f.fixable else ""),
                f.text[:60],
                f.replacement,
            )
        out.print(table)
        for steps in dict.fromkeys(f.steps for f in findings if f.steps):  # why --fix leaves this file, once per reason
            out.print(f"  by hand: {steps}", markup=False)


@app.command()
def scan(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders to scan (default: the current folder).")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the findings as JSON on stdout (format_version 1).")
    ] = False,
    sarif_file: Annotated[
        Path | None, typer.Option("--sarif", help="Write SARIF 2.1.0 for GitHub code scanning.", dir_okay=False)
    ] = None,
    fail_on: Annotated[
        ScanFailOn | None,
        typer.Option(
            "--fail-on",
            help="Exit 3 when there are findings of this kind: mechanical (any agent finding) or redesign.",
            case_sensitive=False,
        ),
    ] = None,
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help=(
                "Port raw WebSocket clients whole (URL, auth, agent id, message names), or not at all; "
                "shows a unified diff first."
            ),
        ),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="With --fix: print the diff and write nothing.")] = False,
    yes: YesOption = False,
    annotate: Annotated[
        bool,
        typer.Option(
            "--annotate",
            help=(
                "With --fix: add a TODO(atoms-migrate) comment above what could not be fixed, "
                "in the comment syntax of the spot."
            ),
        ),
    ] = False,
    state: StateOption = None,
    mappings: MappingsOption = None,
    no_color: NoColorOption = False,
    debug: DebugOption = False,
) -> None:
    """Find ElevenLabs conversation code (WebSocket URL, auth, messages, events, SDKs, widget, ids) and say what it
    becomes on Atoms."""
    err = Console(stderr=True, highlight=False, no_color=no_color or None, soft_wrap=True)
    with error_boundary(debug):
        from atoms_migrate.mapping.tables import load_tables
        from atoms_migrate.report.sarif import sarif
        from atoms_migrate.scan.scanner import Scanner, scan_paths

        roots = list(paths or [Path(".")])
        for root in roots:
            if not root.exists():
                raise ConfigError(f"{root}: no such file or folder")
        if (annotate or dry_run) and not fix:
            raise ConfigError("--annotate and --dry-run only make sense with --fix", "Add --fix.")
        tables = load_tables(mappings)
        scanner = Scanner(tables.scan, _known(state, tables))
        result = scan_paths(roots, scanner)
        for problem in result.unreadable:
            err.print(f"note: {problem}", markup=False)
        if result.generated:
            shown = ", ".join(result.generated[:3]) + (", …" if len(result.generated) > 3 else "")
            err.print(
                f"note: skipped {len(result.generated)} generated or minified file(s) that mention ElevenLabs: {shown}",
                markup=False,
            )
        counts = {
            "mechanical": sum(f.kind == "mechanical" for f in result.findings),
            "redesign": sum(f.kind == "redesign" for f in result.findings),
            "info": sum(f.kind == "info" for f in result.findings),
        }
        agent_findings = counts["mechanical"] + counts["redesign"]
        summary = (
            f"{len(result.findings)} finding(s) in {len(result.texts)} of {result.files_scanned} file(s): "
            f"{counts['mechanical']} mechanical ({sum(f.fixable for f in result.findings)} fixable), "
            f"{counts['redesign']} redesign" + (f", {counts['info']} info." if counts["info"] else ".")
        )
        if sarif_file:
            _write_file(sarif_file, json.dumps(sarif(result.findings, tables.scan.rules), indent=2) + "\n")
        out = Console(highlight=False, no_color=no_color or None)
        if not out.is_terminal:
            out = Console(highlight=False, no_color=no_color or None, width=200)  # logs: do not squeeze to 80 columns
        if json_output:
            doc = {
                "format_version": "1",
                "files_scanned": result.files_scanned,
                "findings": [
                    {
                        "path": f.path,
                        "line": f.line,
                        "column": f.column,
                        "rule_id": f.rule_id,
                        "kind": f.kind,
                        "message": f.message,
                        "elevenlabs": f.elevenlabs,
                        "replacement": f.replacement,
                        "text": f.text,
                        "fixable": f.fixable,
                        "seed": f.seed,
                        "steps": f.steps,
                    }
                    for f in result.findings
                ],
                "skipped_generated": result.generated,
                "summary": {"findings": len(result.findings), **counts},
            }
            sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        elif not fix:
            _print_table(result, out)
            out.print(summary, markup=False)
        if fix:
            _fix(result, scanner, annotate, dry_run, yes, err, json_output)
        if fail_on is not None and (counts["redesign"] if fail_on is ScanFailOn.redesign else agent_findings):
            err.print(f"--fail-on {fail_on.value}: {summary}", markup=False)
            raise typer.Exit(EXIT_GATE)


def _fix(
    result: ScanResult, scanner: Scanner, annotate: bool, dry_run: bool, yes: bool, err: Console, json_output: bool
) -> None:
    from atoms_migrate.scan.fix import plan_fixes

    plan = plan_fixes(result.texts, result.findings, scanner, annotate)
    diff_out = sys.stderr if json_output else sys.stdout
    for file_fix in plan.files:
        diff_out.write(file_fix.diff if file_fix.diff.endswith("\n") else file_fix.diff + "\n")
    diff_out.flush()  # the diff before the messages that follow on stderr
    for note in plan.skipped:
        err.print(f"skipped: {note}", markup=False)
    fixed = sum(len(f.fixed) for f in plan.files)
    annotated = sum(len(f.annotated) for f in plan.files)
    what = f"{fixed} rewrite(s){f' and {annotated} annotation(s)' if annotate else ''} in {len(plan.files)} file(s)"
    if not plan.files:
        err.print("Nothing to fix: no whole-unit port applies (each finding says what to do by hand).", markup=False)
        return
    if dry_run:
        err.print(f"--dry-run: {what} shown above; nothing was written.", markup=False)
        return
    _confirm(f"Write {what}?", yes)
    for file_fix in plan.files:
        source = result.texts[file_fix.path]
        source.path.write_text(file_fix.new_text, encoding="utf-8", newline="")
    err.print(f"Wrote {what}.", markup=False)
