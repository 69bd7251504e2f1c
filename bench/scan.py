"""Benchmark `atoms-migrate scan`: recall and precision on the fixtures, safety of --fix, speed on a big tree.

1. Recall and precision of the findings on tests/fixtures/scan against the hand-written
   tests/fixtures/scan/expected.yaml (each expected [file, line, rule] is one item).
2. --fix on the fixtures with every fixture agent "migrated": how many files are ported,
   and whether each ported file parses and has no ElevenLabs host or xi-api-key left.
3. Files per second of the installed CLI (`scan TREE --json`, start-up included) on a generated
   tree of N source files (default 10,000) in nested folders, each folder with its own
   .gitignore (some files and folders ignored, some re-included), mostly ordinary code with
   one file in fifty a copy of a fixture that talks to ElevenLabs.

    python bench/scan.py [--files 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from atoms_migrate.mapping.tables import load_tables  # noqa: E402
from atoms_migrate.scan.fix import plan_fixes, syntax_errors  # noqa: E402
from atoms_migrate.scan.scanner import LANGUAGES, Known, Scanner, scan_paths  # noqa: E402

EXE = Path(sys.executable).parent / "atoms-migrate"
FIXTURES = ROOT / "tests" / "fixtures" / "scan"
SOURCES = sorted(p for p in FIXTURES.rglob("*") if p.suffix in LANGUAGES and "vendor" not in p.parts)

ORDINARY = {
    ".ts": (
        "export function total(items: {price: number}[]): number {\n"
        "  return items.reduce((sum, i) => sum + i.price, 0);\n}\n"
    ),
    ".py": (
        "def total(items):\n    return sum(i['price'] for i in items)\n\n\n"
        "class Cart:\n    def __init__(self):\n        self.items = []\n"
    ),
    ".jsx": "export const Button = ({label, onClick}) => <button onClick={onClick}>{label}</button>;\n",
    ".html": "<!doctype html><html><body><h1>Shop</h1><audio src='a.mp3'></audio></body></html>\n",
}
GITIGNORE = "*.generated.ts\ntmp/\n!keep.generated.ts\n"


def accuracy() -> tuple[float, float, int, int, int]:
    expected = yaml.safe_load((FIXTURES / "expected.yaml").read_text())
    result = scan_paths([FIXTURES], Scanner(load_tables().scan), base=FIXTURES)
    got = {(f.path, f.line, f.rule_id) for f in result.findings}
    want = {(path, line, rule) for path, rows in expected["files"].items() for line, rule in rows}
    hits = len(got & want)
    return hits / len(want), hits / len(got), len(want), len(got), hits


def fix_safety() -> tuple[int, int, int]:
    """Ported files, files whose port does not parse, ported files still naming an ElevenLabs host or key."""
    tables = load_tables()
    scanner = Scanner(tables.scan)
    result = scan_paths([FIXTURES], scanner, base=FIXTURES)
    agents = {f.text.strip("\"'`") for f in result.findings if f.rule_id == "EL-AGENT-ID"}
    import re

    ids = {m for text in agents for m in re.findall(r"agent_[0-9a-z]{20,40}", text)}
    scanner = Scanner(tables.scan, Known(agents={i: f"atoms{n:04d}" for n, i in enumerate(sorted(ids))}))
    result = scan_paths([FIXTURES], scanner, base=FIXTURES)
    plan = plan_fixes(result.texts, result.findings, scanner, annotate=False)
    broken = sum(syntax_errors(f.new_text, result.texts[f.path].language) > 0 for f in plan.files)
    half = sum(("elevenlabs.io" in f.new_text or "xi-api-key" in f.new_text) for f in plan.files)
    return len(plan.files), broken, half


def build(root: Path, count: int) -> int:
    kinds = list(ORDINARY.items())
    written = 0
    for i in range(count):
        folder = root / f"pkg{i // 500:02d}" / f"mod{(i // 50) % 10}" / ("tmp" if i % 97 == 0 else "src")
        if not folder.exists():
            folder.mkdir(parents=True)
            for level in (folder.parent, folder.parent.parent):
                if not (level / ".gitignore").exists():
                    (level / ".gitignore").write_text(GITIGNORE)
        if i % 50 == 0:
            fixture = SOURCES[(i // 50) % len(SOURCES)]
            (folder / f"f{i:05d}{fixture.suffix}").write_text(fixture.read_text())
        else:
            suffix, body = kinds[i % len(kinds)]
            name = f"f{i:05d}.generated.ts" if i % 41 == 0 else f"f{i:05d}{suffix}"
            (folder / name).write_text(body * 40)  # about 2-5 KB each
        written += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args()
    recall, precision, want, got, hits = accuracy()
    print(
        f"fixtures: recall {recall:.1%} ({hits}/{want} expected findings), "
        f"precision {precision:.1%} ({hits}/{got} findings)"
    )
    ported, broken, half = fix_safety()
    print(
        f"--fix on the fixtures: {ported} file(s) ported whole; {broken} would not parse; "
        f"{half} still name an ElevenLabs host or key"
    )
    work = Path(tempfile.mkdtemp(prefix="atoms-migrate-scan-bench-"))
    try:
        total = build(work / "tree", args.files)
        gitignores = sum(1 for _ in (work / "tree").rglob(".gitignore"))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run(
            [str(EXE), "scan", str(work / "tree"), "--json"], capture_output=True, text=True, cwd=work
        )
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        doc = json.loads(proc.stdout)
        print(
            f"tree: {total} files, {gitignores} .gitignore files; scanned {doc['files_scanned']} (the rest ignored); "
            f"{doc['summary']['findings']} findings"
        )
        print(
            f"  wall {seconds:.2f} s = {total / seconds:,.0f} files/s; CPU {cpu:.2f} s = {total / cpu:,.0f} files/s "
            "(start-up included; wall time depends on what else the machine runs: "
            f"load average {os.getloadavg()[0]:.1f})"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
