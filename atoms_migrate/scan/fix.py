"""``scan --fix``: ports that are whole or nothing, shown as a unified diff first.

The unit of a port is the seed's minimal port of a raw WebSocket client (migration guide §6
Node, §7 Python; smallest-atoms-api.md §A.6, §A.7): the URL, the auth in the form the runtime
can send (an ``Authorization`` header for Node's ``ws`` and Python's ``websockets``; the
``token`` query parameter for a server-side global ``WebSocket``), the agent id (from the
state file) and the renamed message and event names of that connection, all together.
``units.port_units`` plans it and lists every blocker; with any blocker nothing is written and each
finding carries the exact steps to do by hand. Never a header alone, never an id inside a
kept ElevenLabs widget or SDK call, never a change to a request that still goes to an
ElevenLabs host (such requests are not touched at all). Browser code cannot hold a Smallest
key, so a browser client is never ported: its steps say how to mint a ``wct_`` token.

The browser SDK (guide §5) is not ported mechanically: the reference documents the
``AtomsAgent`` constructor and ``connect()`` only, not its events, so its handlers cannot be
rewritten without guessing; those findings carry the steps instead.

``--annotate`` adds a ``TODO(atoms-migrate)`` comment above what was not fixed, in the comment
syntax of the spot (``//``, ``#``, ``{/* */}`` among JSX children, ``<!-- -->`` in HTML), never
inside a string or template literal. Every rewritten or annotated file is parsed again with
the same parser and is left unchanged (and reported) if it gained a syntax error. Pure:
returns new texts and diffs; the CLI writes them.
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass, field

from ast_grep_py import SgNode, SgRoot

from atoms_migrate.scan.model import ScanFinding, SourceText
from atoms_migrate.scan.scanner import Scanner
from atoms_migrate.scan.units import UnitPort, apply_edits, syntax_errors


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


def _python_tree(text: str) -> str | None:
    try:
        return ast.dump(ast.parse(text))
    except (SyntaxError, ValueError):
        return None


def _comment(text: str, line_start: int, language: str) -> str | None:
    """The comment syntax at the start of a line, or None where no comment may go (a string, a tag)."""
    root = SgRoot(text, language).root()
    pos = line_start + (len(text[line_start:]) - len(text[line_start:].lstrip(" \t")))
    node = _innermost(root, pos)
    if node is None:
        return "#" if language == "python" else "//" if language != "html" else "<!--"
    chain = [node, *node.ancestors()]
    for n in chain:
        if (
            n.kind()
            in (
                "string",
                "template_string",
                "string_fragment",
                "attribute_value",
                "quoted_attribute_value",
                "start_tag",
                "jsx_opening_element",
                "jsx_self_closing_element",
            )
            and n.range().start.index < pos
        ):
            return None
    if language == "python":
        return "#"
    if language == "html":
        return "//" if any(n.kind() == "raw_text" for n in chain) else "<!--"
    starter = next(
        (
            n
            for n in chain
            if n.range().start.index == pos and (up := n.parent()) is not None and up.range().start.index < pos
        ),
        node,
    )
    parent = starter.parent()
    if parent is not None and parent.kind() == "jsx_element":
        return "{/*"
    return "//"


def _innermost(root: SgNode, pos: int) -> SgNode | None:
    node = root
    while True:
        nxt = next((c for c in node.children() if c.range().start.index <= pos < c.range().end.index), None)
        if nxt is None:
            return node
        node = nxt


def _annotation(style: str, indent: str, what: str) -> str:
    what = what.replace("*/", "* /").replace("-->", "- ->").replace("\n", " ")
    if style == "{/*":
        return f"{indent}{{/* {what} */}}\n"
    if style == "<!--":
        return f"{indent}<!-- {what} -->\n"
    return f"{indent}{style} {what}\n"


def _annotate(text: str, source: SourceText, findings: list[ScanFinding]) -> tuple[str, list[ScanFinding], int]:
    """Insert comments above the lines of ``findings``; each kept only if the file still parses as cleanly."""
    by_line: dict[int, list[ScanFinding]] = {}
    for f in findings:
        by_line.setdefault(f.line, []).append(f)
    lines = text.split("\n")
    done: list[ScanFinding] = []
    refused = 0
    baseline = syntax_errors(text, source.language)
    for line_no in sorted(by_line, reverse=True):
        index = line_no - 1
        if index >= len(lines) or (index and "TODO(atoms-migrate)" in lines[index - 1]):
            continue
        line_start = sum(len(x) + 1 for x in lines[:index])
        current = "\n".join(lines)
        style = _comment(current, line_start, source.language)
        if style is None:
            refused += 1
            continue
        indent = lines[index][: len(lines[index]) - len(lines[index].lstrip(" \t"))]
        rules = ", ".join(dict.fromkeys(f.rule_id for f in by_line[line_no]))
        what = "; ".join(dict.fromkeys(f.steps or f.replacement for f in by_line[line_no]))
        comment = _annotation(style, indent, f"TODO(atoms-migrate) {rules}: {what}")
        candidate = current[:line_start] + comment + current[line_start:]
        ok = syntax_errors(candidate, source.language) <= baseline
        if ok and source.language == "python":
            ok = _python_tree(candidate) == _python_tree(current)
        if not ok:
            refused += 1
            continue
        lines = candidate.split("\n")
        done.extend(by_line[line_no])
    return "\n".join(lines), done, refused


def plan_fixes(texts: dict[str, SourceText], findings: list[ScanFinding], scanner: Scanner, annotate: bool) -> FixPlan:
    plan = FixPlan()
    per_file: dict[str, list[ScanFinding]] = {}
    for f in findings:
        per_file.setdefault(f.path, []).append(f)
    for path, file_findings in sorted(per_file.items()):
        source = texts[path]
        port = source.port if isinstance(source.port, UnitPort) else None
        if not source.safe_to_rewrite:
            if any(f.fixable for f in file_findings) or annotate or (port and port.edits):
                plan.skipped.append(f"{path}: not UTF-8; left as it is")
            continue
        before_errors = syntax_errors(source.text, source.language)
        new, fixed = source.text, []
        if port is not None and port.edits and not port.blockers:
            candidate = apply_edits(source.text, port.edits)
            if syntax_errors(candidate, source.language) > before_errors or (
                source.language == "python"
                and _python_tree(source.text) is not None
                and _python_tree(candidate) is None
            ):
                plan.skipped.append(f"{path}: the port would not parse; left as it is")
            else:
                new, fixed = candidate, [f for f in file_findings if f.fixable]
        annotated: list[ScanFinding] = []
        if annotate:
            remaining = [f for f in file_findings if f not in fixed and f.kind != "info"]
            new, annotated, refused = _annotate(new, source, remaining)
            if refused:
                plan.skipped.append(
                    f"{path}: {refused} annotation(s) not added "
                    "(inside a string or tag, or they would change the program)"
                )
        if new == source.text:
            continue
        diff = "".join(
            difflib.unified_diff(
                source.text.splitlines(keepends=True),
                new.splitlines(keepends=True),
                fromfile=f"a/{path}",
                tofile=f"b/{path}",
            )
        )
        plan.files.append(FileFix(path, new, fixed, annotated, diff))
    return plan
