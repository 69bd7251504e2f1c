"""Benchmark `atoms-migrate scan` on a generated tree of source files.

Prints the wall time for N files (default 10,000: mostly ordinary code, one in twenty a copy
of the test fixtures that talk to ElevenLabs), files per second, and the findings count.

    python bench/scan.py [--files 10000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).parent / "atoms-migrate"
FIXTURES = sorted((ROOT / "tests" / "fixtures" / "scan").iterdir())

ORDINARY = {
    ".ts": "export function total(items: {price: number}[]): number {\n  return items.reduce((sum, i) => sum + i.price, 0);\n}\n",
    ".py": "def total(items):\n    return sum(i['price'] for i in items)\n\n\nclass Cart:\n    def __init__(self):\n        self.items = []\n",
    ".jsx": "export const Button = ({label, onClick}) => <button onClick={onClick}>{label}</button>;\n",
    ".html": "<!doctype html><html><body><h1>Shop</h1><audio src='a.mp3'></audio></body></html>\n",
}


def build(root: Path, count: int) -> None:
    kinds = list(ORDINARY.items())
    for i in range(count):
        folder = root / f"pkg{i // 200:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        if i % 20 == 0:
            fixture = FIXTURES[(i // 20) % len(FIXTURES)]
            shutil.copy(fixture, folder / f"f{i:05d}{fixture.suffix}")
        else:
            suffix, body = kinds[i % len(kinds)]
            (folder / f"f{i:05d}{suffix}").write_text(body * 40)  # about 2-5 KB each


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="atoms-migrate-scan-bench-"))
    try:
        build(work / "tree", args.files)
        started = time.perf_counter()
        proc = subprocess.run([str(EXE), "scan", str(work / "tree"), "--json"], capture_output=True, text=True, cwd=work)
        seconds = time.perf_counter() - started
        doc = json.loads(proc.stdout)
        print(f"{doc['files_scanned']} files in {seconds:.2f} s ({doc['files_scanned'] / seconds:,.0f} files/s), "
              f"{doc['summary']['findings']} findings")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
