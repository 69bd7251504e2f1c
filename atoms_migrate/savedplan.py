"""Saved plans: what ``--out plan.json`` writes and what ``apply plan.json`` checks first.

Like ``terraform plan -out`` (peer-conventions §3.1): a saved plan is applied exactly or
not at all. Each agent entry carries the hash of its source config and the id of the
target's live revision (or active version) it was planned against, plus the plan itself
with its write steps. Before writing, ``apply`` reads the source and the target again,
plans again with the saved settings, and refuses an agent whose source changed, whose
target changed (another revision went live, the agent appeared or vanished), or whose plan
would now differ (mapping tables, options or state changed); it says which. Secrets are
never in the file: the steps hold ``<secret:NAME>`` references, supplied again at apply.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from atoms_migrate import __version__
from atoms_migrate.bounds import InputTooLarge, check_file
from atoms_migrate.errors import ConfigError
from atoms_migrate.run import Planned

KIND = "atoms-migrate-saved-plan"
FORMAT_VERSION = "1"


def saved_plan(entries: list[tuple[dict[str, str], Planned]], tables_hash: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The document for ``--out``: ``entries`` pairs how to find each source again with its plan."""
    agents = []
    for source_ref, planned in entries:
        agents.append({
            "source": {**source_ref, "key": planned.source.key, "hash": planned.source_hash},
            "target": {"agent_id": planned.target.agent_id if planned.target else None,
                       "versioning": planned.target.versioning if planned.target else None,
                       "revision_id": planned.target_revision},
            "plan": planned.plan.to_dict(),
        })
    return {"kind": KIND, "format_version": FORMAT_VERSION, "created_by": f"atoms-migrate {__version__}",
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "tables_hash": tables_hash,
            "settings": settings, "agents": agents}


def write(path: Path, doc: dict[str, Any]) -> None:
    try:
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the plan to {path}: {exc.strerror}") from exc


def load(path: Path) -> dict[str, Any]:
    try:
        check_file(path)  # a FIFO or device would block or never end
        doc = json.loads(path.read_text(encoding="utf-8"))
    except InputTooLarge as exc:
        raise ConfigError(f"{path} {exc}", "Make one with --dry-run --out plan.json.") from None
    except RecursionError:
        raise ConfigError(f"{path} is nested too deeply to be a saved plan", "Make one with --dry-run --out plan.json.") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} cannot be read as a saved plan: {exc}", "Make one with --dry-run --out plan.json.") from exc
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise ConfigError(f"{path} is not a saved atoms-migrate plan", "Make one with --dry-run --out plan.json.")
    _check_shape(path, doc)
    major = str(doc.get("format_version", "")).split(".")[0]
    if major != FORMAT_VERSION:
        raise ConfigError(f"{path} has plan format {doc.get('format_version')!r}; this version reads {FORMAT_VERSION}",
                          "Plan again with this version of atoms-migrate.")
    return doc


# What `apply` reads from each agent entry: (path of keys, expected type).
_REQUIRED: tuple[tuple[tuple[str, ...], type], ...] = (
    (("source",), dict), (("source", "ref"), str), (("source", "kind"), str), (("source", "hash"), str),
    (("target",), dict), (("plan",), dict), (("plan", "source"), dict),
)


def _check_shape(path: Path, doc: dict[str, Any]) -> None:
    """Every key ``apply`` reads is there with its type; else one clean error naming the first gap."""
    agents = doc.get("agents")
    if not isinstance(agents, list):
        raise ConfigError(f"{path}: the saved plan has no `agents` list", "Plan again with --dry-run --out.")
    for i, item in enumerate(agents):
        for keys, kind in _REQUIRED:
            value: Any = item
            for key in keys:
                value = value.get(key) if isinstance(value, dict) else None
            if not isinstance(value, kind):
                raise ConfigError(f"{path}: agents[{i}].{'.'.join(keys)} is missing or not a {kind.__name__}",
                                  "The saved plan is damaged or edited by hand; plan again with --dry-run --out.")
        if item["source"]["kind"] not in ("id", "file"):
            raise ConfigError(f"{path}: agents[{i}].source.kind must be id or file", "Plan again with --dry-run --out.")


def check_sources(path: Path, doc: dict[str, Any], root: Path) -> None:
    """Refuse a file source outside the project (``root``): a saved plan must not make us read elsewhere."""
    base = os.path.realpath(root)
    for i, item in enumerate(doc.get("agents") or []):
        src = item["source"]
        if src["kind"] != "file":
            continue
        real = os.path.realpath(src["ref"])
        if os.path.commonpath([base, real]) != base:
            raise ConfigError(f"{path}: agents[{i}] reads {src['ref']!r}, which is outside the project {root}",
                              "Apply the plan from the project it was made in (next to its .atoms-migrate/ state).")


def _comparable_steps(plan: dict[str, Any]) -> Any:
    return [{k: v for k, v in step.items() if k != "summary"} for step in plan.get("steps") or []]


def refusal(entry: dict[str, Any], planned: Planned, tables_hash: str, saved_tables_hash: str) -> str | None:
    """Why ``planned`` (made now) may not stand in for the saved ``entry``; None when it may."""
    if planned.source_hash != entry["source"]["hash"]:
        return "its source changed since planning"
    then, now = entry["target"], planned.target
    if then.get("agent_id") is None and now is not None:
        return f"an Atoms agent for it appeared since planning ({now.agent_id})"
    if then.get("agent_id") is not None and now is None:
        return f"its Atoms agent {then['agent_id']} is gone since planning"
    if now is not None and now.agent_id != then.get("agent_id"):
        return f"its target is now Atoms agent {now.agent_id}, not {then.get('agent_id')}"
    if now is not None and planned.target_revision != then.get("revision_id"):
        return f"the target's live revision changed since planning ({then.get('revision_id')} -> {planned.target_revision})"
    if tables_hash != saved_tables_hash:
        return "the mapping tables changed since planning"
    if _comparable_steps(planned.plan.to_dict()) != _comparable_steps(entry["plan"]):
        return "planning again gives different write steps (options or state changed since planning)"
    return None
