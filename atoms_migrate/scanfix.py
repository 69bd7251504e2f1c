"""``scan --fix``: exact, mechanical rewrites of scanned files, shown as a unified diff first.

Only rules with a ``fix`` in ``mappings/scan.yaml`` (URLs, the ``xi-api-key`` header form,
message names whose payload is unchanged) and agent ids the state file knows are
rewritten, each at the exact span the scan matched; anything else stays a finding.
``--annotate`` adds a ``TODO(atoms-migrate)`` comment above the lines it could not fix.

Files are never touched when they cannot be handled safely: not UTF-8, minified, or (for
Python) not parseable before or after the rewrite; an annotation must leave a Python
file's syntax tree unchanged, and is not placed inside a JavaScript template literal.
Pure: returns new texts and diffs; the CLI writes them.
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass, field

from atoms_migrate.scan import ScanFinding, Scanner, SourceText

COMMENT = {"js": "//", "py": "#"}


@dataclass
class FileFix:
    path: str
    new_text: str
    fixed: list[ScanFinding] = field(default_factory=list)
    annotated: list[ScanFinding] = field(default_factory=list)
    diff: str = ""


@dataclass
class FixPlan:
    files: list[FileFix] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "path: why"


def _python_ok(text: str) -> ast.AST | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def _rewrite(source: SourceText, findings: list[ScanFinding], scanner: Scanner) -> tuple[str, list[ScanFinding]]:
    text, fixed, last_start = source.text, [], len(source.text) + 1
    for f in sorted((f for f in findings if f.fixable), key=lambda f: f.start, reverse=True):
        if f.rule_id == "EL-AGENT-ID":
            end, new = f.end, scanner.known.agents[f.text]
        else:
            m = scanner.fixes[f.rule_id].match(text, f.start)
            if m is None:
                continue
            end, new = m.end(), m.expand(next(r.fix.replace for r, _ in scanner.rules if r.id == f.rule_id))  # type: ignore[union-attr]
        if end > last_start:  # overlaps a later rewrite: leave it to the next run
            continue
        text = text[: f.start] + new + text[end:]
        last_start = f.start
        fixed.append(f)
    return text, fixed


def _annotate(text: str, source: SourceText, findings: list[ScanFinding]) -> tuple[str, list[ScanFinding]]:
    language = "py" if "py" in source.languages else ("js" if source.languages == frozenset({"js"}) else None)
    if language is None:  # HTML, Vue, Svelte: comment syntax depends on the block; leave them
        return text, []
    lines = text.split("\n")
    done: list[ScanFinding] = []
    by_line: dict[int, list[ScanFinding]] = {}
    for f in findings:
        by_line.setdefault(f.line, []).append(f)
    for line_no in sorted(by_line, reverse=True):
        index = line_no - 1
        if index >= len(lines) or "TODO(atoms-migrate)" in (lines[index - 1] if index else ""):
            continue
        if language == "js" and "\n".join(lines[:index]).count("`") % 2:  # inside a template literal
            continue
        indent = re.match(r"\s*", lines[index]).group(0)  # type: ignore[union-attr]
        rules = ", ".join(dict.fromkeys(f.rule_id for f in by_line[line_no]))
        what = "; ".join(dict.fromkeys(f.replacement for f in by_line[line_no]))
        lines.insert(index, f"{indent}{COMMENT[language]} TODO(atoms-migrate) {rules}: {what}")
        done.extend(by_line[line_no])
    return "\n".join(lines), done


def plan_fixes(texts: dict[str, SourceText], findings: list[ScanFinding], scanner: Scanner, annotate: bool) -> FixPlan:
    plan = FixPlan()
    per_file: dict[str, list[ScanFinding]] = {}
    for f in findings:
        per_file.setdefault(f.path, []).append(f)
    for path, file_findings in sorted(per_file.items()):
        source = texts[path]
        if not source.safe_to_rewrite:
            if any(f.fixable for f in file_findings) or annotate:
                plan.skipped.append(f"{path}: {'not UTF-8' if not source.utf8 else 'minified'}; left as it is")
            continue
        is_python = "py" in source.languages
        before = _python_ok(source.text) if is_python else None
        if is_python and before is None:
            plan.skipped.append(f"{path}: does not parse as Python; left as it is")
            continue
        new, fixed = _rewrite(source, file_findings, scanner)
        if is_python and _python_ok(new) is None:
            plan.skipped.append(f"{path}: the rewrite would not parse; left as it is")
            continue
        annotated: list[ScanFinding] = []
        if annotate:
            remaining = [f for f in file_findings if f not in fixed]
            annotated_text, annotated = _annotate(new, source, remaining)
            tree_before, tree_after = (_python_ok(new), _python_ok(annotated_text)) if is_python else (None, None)
            if not is_python or (tree_before is not None and tree_after is not None and ast.dump(tree_before) == ast.dump(tree_after)):
                new = annotated_text
            else:
                annotated = []
                plan.skipped.append(f"{path}: annotations would change the program; not added")
        if new == source.text:
            continue
        diff = "".join(difflib.unified_diff(source.text.splitlines(keepends=True), new.splitlines(keepends=True),
                                            fromfile=f"a/{path}", tofile=f"b/{path}"))
        plan.files.append(FileFix(path, new, fixed, annotated, diff))
    return plan
