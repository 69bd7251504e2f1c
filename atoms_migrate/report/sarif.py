"""SARIF 2.1.0 for GitHub code scanning (peer-conventions §3.6).

Rules come from ``mappings/scan.yaml`` with their stable ids and help text; every result
has a ``partialFingerprints`` entry built from the rule, the file and the text of the line
(not its number), plus an occurrence count, so an alert survives lines moving above it.
Redesign findings are warnings, mechanical and info ones notes. Pure.
"""

from __future__ import annotations

import hashlib
from typing import Any

from atoms_migrate import __version__
from atoms_migrate.mapping.tables import ScanRule
from atoms_migrate.scan.model import ScanFinding

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"redesign": "warning", "mechanical": "note", "info": "note"}


def sarif(findings: list[ScanFinding], rules: list[ScanRule]) -> dict[str, Any]:
    seen: dict[tuple[str, str, str], int] = {}
    results = []
    for f in findings:
        key = (f.rule_id, f.path, f.line_text.strip())
        seen[key] = seen.get(key, 0) + 1
        digest = hashlib.sha256("\x1f".join([*key, str(seen[key])]).encode("utf-8")).hexdigest()[:32]
        results.append(
            {
                "ruleId": f.rule_id,
                "level": LEVELS[f.kind],
                "message": {"text": f"{f.elevenlabs} -> {f.replacement}"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": f.path},
                            "region": {
                                "startLine": f.line,
                                "startColumn": f.column,
                                "endColumn": f.column + len(f.text),
                            },
                        }
                    }
                ],
                "partialFingerprints": {"atomsMigrateLineHash/v1": digest},
                "properties": {"kind": f.kind, "fixable": f.fixable, "seed": f.seed},
            }
        )
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "atoms-migrate",
                        "version": __version__,
                        "rules": [
                            {
                                "id": r.id,
                                "name": r.id.title().replace("-", ""),
                                "shortDescription": {"text": r.elevenlabs},
                                "fullDescription": {"text": f"{r.elevenlabs} -> {r.replacement}"},
                                "help": {
                                    "text": r.help,
                                    "markdown": f"**{r.elevenlabs}** → {r.replacement}\n\n{r.help}",
                                },
                                "defaultConfiguration": {"level": LEVELS[r.kind]},
                                "properties": {
                                    "kind": r.kind,
                                    "seed": r.seed,
                                    "tags": ["migration", "elevenlabs", r.kind],
                                },
                            }
                            for r in rules
                        ],
                    }
                },
                "results": results,
            }
        ],
    }
