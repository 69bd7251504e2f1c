"""Find the ElevenLabs conversation surfaces in client code: which file, line and column.

``scan_paths`` walks source trees (JS/TS/JSX/TSX/MJS/CJS, Python, HTML, Vue and Svelte)
and skips what is not the user's source: ``node_modules``, VCS folders, virtualenvs (any
folder holding ``pyvenv.cfg``), build output, and whatever the ``.gitignore`` files on the
way ignore (pathspec, the maintained gitignore matcher). Files are read as bytes: non-UTF-8
text is decoded with replacement so nothing crashes, and is marked so ``--fix`` leaves it
alone; very long lines mark a minified file, which is scanned but never rewritten.

``scan_text`` applies the rules of ``mappings/scan.yaml``: a cheap trigger regex first (most
files never match it), then each rule for the file's language, honouring the rule's
context (a generic word such as ``"audio"`` only counts as a quoted string in an event-type
comparison of a file that references ElevenLabs). Agent and voice ids are annotated with
what they became, from the state file and the voice table. Pure apart from reading files.
"""

from __future__ import annotations

import bisect
import os
import stat
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from atoms_migrate.tables import ScanRule, ScanTable, VoiceTable

LANGUAGES: dict[str, frozenset[str]] = {
    ".js": frozenset({"js"}), ".jsx": frozenset({"js"}), ".ts": frozenset({"js"}), ".tsx": frozenset({"js"}),
    ".mjs": frozenset({"js"}), ".cjs": frozenset({"js"}), ".py": frozenset({"py"}),
    ".html": frozenset({"html"}), ".htm": frozenset({"html"}),
    ".vue": frozenset({"js", "html"}), ".svelte": frozenset({"js", "html"}),
}
SKIP_DIRS = frozenset({"node_modules", ".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".nox", ".mypy_cache",
                       ".pytest_cache", ".ruff_cache", "dist", "build", ".next", ".nuxt", ".svelte-kit", ".output", "out",
                       "coverage", "site-packages", "bower_components", ".atoms-migrate"})
MINIFIED_LINE = 1000  # characters: longer lines mean generated code
_EVENT_LINE = re.compile(r"\btype\b|\bcase\b|\[\s*[\"']type[\"']\s*\]|\.type\b")


@dataclass(frozen=True)
class ScanFinding:
    path: str
    line: int
    column: int
    rule_id: str
    kind: str
    elevenlabs: str
    replacement: str
    message: str
    text: str  # the matched text
    start: int  # offset in the file's text
    end: int
    fixable: bool = False
    line_text: str = ""


@dataclass
class SourceText:
    path: Path
    text: str
    languages: frozenset[str]
    utf8: bool = True
    minified: bool = False

    @property
    def safe_to_rewrite(self) -> bool:
        return self.utf8 and not self.minified


@dataclass
class ScanResult:
    findings: list[ScanFinding] = field(default_factory=list)
    files_scanned: int = 0
    unreadable: list[str] = field(default_factory=list)
    texts: dict[str, SourceText] = field(default_factory=dict)  # only files with findings


@dataclass(frozen=True)
class Known:
    """What earlier migrations tell about ids found in code (state file, voice table)."""

    agents: Mapping[str, str] = field(default_factory=dict)  # ElevenLabs agent id -> Smallest agent id
    voices: Mapping[str, str] = field(default_factory=dict)  # ElevenLabs voice id -> Atoms voice id


def known_ids(state_agents: Mapping[str, str], clones: Mapping[str, str], table: VoiceTable) -> Known:
    voices = {v.elevenlabs_id: v.target for v in table.voices} | dict(clones)
    return Known(agents=dict(state_agents), voices=voices)


class _Ignores:
    """The .gitignore files met on the way down, each applied to paths below its folder."""

    def __init__(self) -> None:
        self.specs: list[tuple[Path, pathspec.GitIgnoreSpec]] = []

    def enter(self, folder: Path) -> None:
        ignore = folder / ".gitignore"
        if ignore.is_file():
            try:
                lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                return
            self.specs.append((folder, pathspec.GitIgnoreSpec.from_lines(lines)))

    def ignored(self, path: Path, is_dir: bool) -> bool:
        for folder, spec in self.specs:
            try:
                rel = path.relative_to(folder).as_posix()
            except ValueError:
                continue
            if spec.match_file(rel + "/" if is_dir else rel):
                return True
        return False


def iter_files(roots: Iterable[Path]) -> Iterator[Path]:
    """Source files under ``roots`` (files given directly are always included).

    Only regular files of at most ``MAX_SCAN_BYTES`` are yielded, and a symlink only when it
    stays inside its root: a link to ``/dev/zero``, a FIFO or a file outside the tree is never opened.
    """
    for root in roots:
        if root.is_file():
            if _regular(root):
                yield root
            continue
        real_root = os.path.realpath(root)
        ignores = _Ignores()
        for current, dirs, files in os.walk(root):
            folder = Path(current)
            ignores.enter(folder)
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not (folder / d / "pyvenv.cfg").exists()
                             and not ignores.ignored(folder / d, True))
            for name in sorted(files):
                path = folder / name
                if path.suffix.lower() in LANGUAGES and not ignores.ignored(path, False) and _regular(path) and (
                        not path.is_symlink() or os.path.commonpath([real_root, os.path.realpath(path)]) == real_root):
                    yield path


MAX_SCAN_BYTES = 20 * 1024 * 1024


def _regular(path: Path) -> bool:
    """A regular file of sane size (stat follows links: a link to a device is not regular)."""
    try:
        info = os.stat(path)
    except OSError:
        return True  # let the reader report it as unreadable
    return stat.S_ISREG(info.st_mode) and info.st_size <= MAX_SCAN_BYTES


def read_source(path: Path) -> SourceText:
    data = path.read_bytes()
    try:
        text, utf8 = data.decode("utf-8"), True
    except UnicodeDecodeError:
        text, utf8 = data.decode("utf-8", errors="replace"), False
    minified = path.name.endswith((".min.js", ".min.mjs")) or any(len(line) > MINIFIED_LINE for line in text.splitlines())
    return SourceText(path, text, LANGUAGES.get(path.suffix.lower(), frozenset()), utf8, minified)


class Scanner:
    """The compiled scan table; ``scan_text`` is pure."""

    def __init__(self, table: ScanTable, known: Known | None = None) -> None:
        self.table, self.known = table, known or Known()
        self.trigger = re.compile(table.trigger)
        self.context = re.compile(table.elevenlabs_context)
        self.rules = [(rule, re.compile(rule.pattern)) for rule in table.rules]
        self.fixes = {rule.id: re.compile(rule.fix.find) for rule in table.rules if rule.fix}

    def scan_text(self, source: SourceText, display: str) -> list[ScanFinding]:
        text = source.text
        if not self.trigger.search(text):
            return []
        elevenlabs = bool(self.context.search(text))
        starts = [0] + [m.end() for m in re.finditer("\n", text)]
        found: dict[tuple[int, str], ScanFinding] = {}
        for rule, pattern in self.rules:
            if not set(rule.languages) & source.languages:
                continue
            if rule.context in ("elevenlabs", "event") and not elevenlabs:
                continue
            for m in pattern.finditer(text):
                index = bisect.bisect_right(starts, m.start()) - 1
                line_start = starts[index]
                line_end = text.find("\n", line_start)
                line_text = text[line_start: line_end if line_end != -1 else len(text)]
                if rule.context == "event" and not _EVENT_LINE.search(line_text):
                    continue
                finding = self._finding(rule, m, display, index + 1, m.start() - line_start + 1, line_text, source)
                found.setdefault((m.start(), rule.id), finding)
        return sorted(found.values(), key=lambda f: (f.line, f.column, f.rule_id))

    def _finding(self, rule: ScanRule, m: re.Match[str], display: str, line: int, column: int, line_text: str,
                 source: SourceText) -> ScanFinding:
        replacement, fixable = rule.replacement, rule.fix is not None
        if rule.fix is not None:
            fixable = bool(self.fixes[rule.id].match(source.text, m.start()))
        if rule.id == "EL-AGENT-ID":
            smallest = self.known.agents.get(m.group(0))
            fixable = smallest is not None
            replacement = f"Smallest agent {smallest} (migrated, from the state file)" if smallest else replacement + "; not in the state file"
        elif rule.id == "EL-VOICE-ID":
            voice = self.known.voices.get(m.group(1))
            replacement = f"{voice} (from the voice table or a clone in the state file)" if voice else replacement
        message = f"{rule.elevenlabs}: {m.group(0)[:80]!r} -> {replacement}"
        return ScanFinding(display, line, column, rule.id, rule.kind, rule.elevenlabs, replacement, message, m.group(0),
                           m.start(), m.end(), fixable and source.safe_to_rewrite, line_text)


def scan_paths(roots: list[Path], scanner: Scanner, base: Path | None = None) -> ScanResult:
    result = ScanResult()
    for path in iter_files(roots):
        result.files_scanned += 1
        try:
            source = read_source(path)
        except OSError as exc:
            result.unreadable.append(f"{path}: {exc.strerror}")
            continue
        display = _display(path, base)
        findings = scanner.scan_text(source, display)
        if findings:
            result.findings.extend(findings)
            result.texts[display] = source
    return result


def _display(path: Path, base: Path | None) -> str:
    """Paths as SARIF and people want them: relative to the working folder when inside it."""
    base = base or Path.cwd()
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
