"""What a scan finds and reads: findings, source texts, results, and the ids earlier migrations know.

Plain data shared by the scanner (``scanner``), the port planner (``units``) and the fixer (``fix``),
so none of them has to import another for its types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


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
    seed: str = ""  # the migration-guide section the rule ports
    steps: str = ""  # what the user must do by hand when --fix cannot port the unit whole
    kept: bool = False  # inside a kept ElevenLabs widget or SDK call


@dataclass
class SourceText:
    path: Path
    text: str
    language: str  # ast-grep language: javascript, typescript, tsx, python, html
    utf8: bool = True
    analysis: object | None = None  # scantree.Analysis, once scanned
    port: object | None = None  # scanfix.UnitPort, once planned

    @property
    def safe_to_rewrite(self) -> bool:
        return self.utf8

    @property
    def languages(self) -> frozenset[str]:  # the families, as the rules name them
        return frozenset({"py"} if self.language == "python" else {"html", "js"} if self.language == "html" else {"js"})


@dataclass
class ScanResult:
    findings: list[ScanFinding] = field(default_factory=list)
    files_scanned: int = 0
    unreadable: list[str] = field(default_factory=list)
    unparsable: list[str] = field(default_factory=list)
    generated: list[str] = field(default_factory=list)  # skipped: generated or minified
    texts: dict[str, SourceText] = field(default_factory=dict)  # only files with findings


@dataclass(frozen=True)
class Known:
    """What earlier migrations tell about ids found in code (state file, voice table)."""

    agents: Mapping[str, str] = field(default_factory=dict)  # ElevenLabs agent id -> Smallest agent id
    voices: Mapping[str, str] = field(default_factory=dict)  # ElevenLabs voice id -> Atoms voice id
