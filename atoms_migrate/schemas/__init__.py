"""JSON Schemas (draft 2020-12) of the JSON that atoms-migrate prints: its public contract.

``plan.schema.json``: what ``agent --json``, ``all --json`` and ``apply --json`` print (the plan, and after an
apply what happened). ``verify.schema.json``: what ``verify --json`` prints. Both describe ``format_version`` "1":
keys may be added within it, never renamed or removed. The files are data shipped in the wheel, for CI jobs and
other tools to validate against; ``load`` reads one. tests/test_contracts.py holds every JSON golden and real CLI
output to them, so a change to the output that the schema does not describe fails there.
"""

from __future__ import annotations

import json
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

NAMES = ("plan", "verify")


def schema_file(name: str) -> Traversable:
    """The schema file ``name`` (one of ``NAMES``) inside the installed package."""
    if name not in NAMES:
        raise ValueError(f"no schema named {name!r}; there are {', '.join(NAMES)}")
    return files(__name__) / f"{name}.schema.json"


def load(name: str) -> dict[str, Any]:
    """The schema ``name`` as a dict."""
    doc = json.loads(schema_file(name).read_text(encoding="utf-8"))
    if not isinstance(doc, dict):
        raise ValueError(f"{name}.schema.json is not a JSON object")
    return doc
